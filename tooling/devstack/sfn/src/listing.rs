//! Every state machine with its definition and latest executions, read as
//! moto answers on the wire (the JSON protocol, as [`crate::history`]
//! reads one execution): what the console draws each execution on.

use serde::Serialize;
use serde_json::{Value, json};

use crate::history::{Api, HistoryError};

/// How many executions of a machine are listed, newest first.
pub const LATEST: u64 = 20;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Machine {
    pub arn: String,
    pub name: String,
    /// The Amazon States Language definition, parsed.
    pub definition: Value,
    pub executions: Vec<Summary>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub arn: String,
    pub name: String,
    pub status: String,
    /// As Step Functions answers it: epoch seconds.
    pub started: Option<f64>,
    pub stopped: Option<f64>,
}

/// The machines on moto's interpreter (`moto_url`) in each of
/// `accounts`, each with its latest executions.
pub async fn machines(moto_url: &str, accounts: &[String]) -> Result<Vec<Machine>, HistoryError> {
    let mut out = Vec::new();
    for account in accounts {
        let api = Api::new(moto_url, "the state machines")?.in_account(account);
        out.extend(with_executions(&api).await?);
    }
    Ok(out)
}

/// The machines `api` reaches, each with its latest executions.
async fn with_executions(api: &Api<'_>) -> Result<Vec<Machine>, HistoryError> {
    let mut out = Vec::new();
    for mut machine in described(api).await? {
        let runs = api
            .call(
                "ListExecutions",
                json!({ "stateMachineArn": machine.arn, "maxResults": LATEST }),
            )
            .await?;
        machine.executions = (runs["executions"].as_array().into_iter().flatten())
            .map(|e| Summary {
                arn: e["executionArn"].as_str().unwrap_or_default().to_owned(),
                name: e["name"].as_str().unwrap_or_default().to_owned(),
                status: e["status"].as_str().unwrap_or_default().to_owned(),
                started: e["startDate"].as_f64(),
                stopped: e["stopDate"].as_f64(),
            })
            .collect();
        out.push(machine);
    }
    Ok(out)
}

/// The machines with their definitions, and no executions listed: what
/// the service map reads on every refresh.
pub async fn definitions(
    moto_url: &str,
    accounts: &[String],
) -> Result<Vec<Machine>, HistoryError> {
    let mut out = Vec::new();
    for account in accounts {
        let api = Api::new(moto_url, "the state machines")?.in_account(account);
        out.extend(described(&api).await?);
    }
    Ok(out)
}

async fn described(api: &Api<'_>) -> Result<Vec<Machine>, HistoryError> {
    let listed = api.call("ListStateMachines", json!({})).await?;
    let mut out = Vec::new();
    for m in listed["stateMachines"].as_array().into_iter().flatten() {
        let arn = m["stateMachineArn"].as_str().unwrap_or_default().to_owned();
        let described = api
            .call("DescribeStateMachine", json!({ "stateMachineArn": arn }))
            .await?;
        let definition = (described["definition"].as_str())
            .and_then(|d| serde_json::from_str(d).ok())
            .unwrap_or(Value::Null);
        out.push(Machine {
            name: m["name"].as_str().unwrap_or_default().to_owned(),
            arn,
            definition,
            executions: Vec::new(),
        });
    }
    Ok(out)
}
