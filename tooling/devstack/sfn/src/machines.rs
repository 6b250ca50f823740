//! A stack's state machines made runnable on moto's interpreter.
//!
//! moto's CloudFormation puts state machines in its static Step Functions
//! backend (executions stay `RUNNING`), and once the interpreter is on,
//! every API call goes to the interpreter's backend, where they are not.
//! So, with the interpreter off, each machine is read back
//! (DescribeStateMachine), the interpreter is switched on, and the machine
//! is created there under the same name: the ARN is the same, so executions
//! started on the stack's ARN run. A machine already on the interpreter (a
//! second call, a redeploy) is updated when its definition or role changed.
//!
//! The switch is global to the moto server, and while it is off every
//! Step Functions call goes to the static backend: SendTaskSuccess/Failure
//! are accepted there and dropped, and running executions cannot be seen.
//! So the window is short (reads only) and one at a time in this process.

use aws_sdk_sfn::Client;
use aws_sdk_sfn::error::DisplayErrorContext;
use aws_sdk_sfn::operation::describe_state_machine::DescribeStateMachineOutput;
use tokio::sync::Mutex;

#[derive(Debug, thiserror::Error)]
pub enum MachinesError {
    #[error("switching moto's Step Functions interpreter {}: {message}", if *.on { "on" } else { "off" })]
    Switch { on: bool, message: String },
    #[error("reading state machine {arn} from the stack's backend: {message}")]
    Read { arn: String, message: String },
    #[error("making state machine {name} runnable on the interpreter: {message}")]
    Write { name: String, message: String },
    #[error("state machine {name} got {got} on the interpreter, not the stack's {arn}")]
    OtherArn {
        name: String,
        arn: String,
        got: String,
    },
}

/// What [`make_runnable`] did to one machine on the interpreter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Created,
    Updated,
    Unchanged,
}

/// One state machine, runnable on the interpreter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runnable {
    pub arn: String,
    pub name: String,
    pub change: Change,
}

/// One switch window at a time: two stacks deployed together would
/// otherwise turn the interpreter on in the middle of each other's reads.
static WINDOW: Mutex<()> = Mutex::const_new(());

/// Makes the state machines `arns` (physical ids of a stack's
/// `AWS::StepFunctions::StateMachine` resources) runnable on moto's
/// interpreter, and leaves the interpreter on. `moto_url` is moto's own
/// address (for its `/moto-api/config`); `sfn` must call moto too. Safe to
/// call again, with the interpreter already on, and for several stacks.
pub async fn make_runnable(
    sfn: &Client,
    moto_url: &str,
    arns: &[String],
) -> Result<Vec<Runnable>, MachinesError> {
    let _window = WINDOW.lock().await;
    switch(moto_url, false).await?;
    let read = read_all(sfn, arns).await;
    // On again whatever the reads gave: the local cloud runs with it on.
    switch(moto_url, true).await?;
    let mut out = Vec::with_capacity(arns.len());
    for machine in read? {
        out.push(recreate(sfn, machine).await?);
    }
    Ok(out)
}

/// Turns moto's Step Functions interpreter on (idempotent): every machine
/// created by API from then on runs.
pub async fn interpreter_on(moto_url: &str) -> Result<(), MachinesError> {
    switch(moto_url, true).await
}

/// `POST /moto-api/config`. moto replaces its `stepfunctions` settings with
/// the body's, so posting the same value twice changes nothing.
async fn switch(moto_url: &str, on: bool) -> Result<(), MachinesError> {
    let fail = |message: String| MachinesError::Switch { on, message };
    let body = serde_json::json!({"stepfunctions": {"execute_state_machine": on}});
    let answer = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| fail(e.to_string()))?
        .post(format!(
            "{}/moto-api/config",
            moto_url.trim_end_matches('/')
        ))
        .json(&body)
        .send()
        .await
        .map_err(|e| fail(e.to_string()))?;
    if !answer.status().is_success() {
        return Err(fail(format!("moto answered {}", answer.status())));
    }
    Ok(())
}

async fn read_all(
    sfn: &Client,
    arns: &[String],
) -> Result<Vec<DescribeStateMachineOutput>, MachinesError> {
    let mut out = Vec::with_capacity(arns.len());
    for arn in arns {
        let machine = sfn
            .describe_state_machine()
            .state_machine_arn(arn)
            .send()
            .await
            .map_err(|e| MachinesError::Read {
                arn: arn.clone(),
                message: DisplayErrorContext(e).to_string(),
            })?;
        out.push(machine);
    }
    Ok(out)
}

/// The machine on the interpreter: created, or updated when it is there
/// already with another definition or role.
async fn recreate(sfn: &Client, m: DescribeStateMachineOutput) -> Result<Runnable, MachinesError> {
    let fail = |e: String| MachinesError::Write {
        name: m.name.clone(),
        message: e,
    };
    let existing = match sfn
        .describe_state_machine()
        .state_machine_arn(&m.state_machine_arn)
        .send()
        .await
    {
        Ok(e) => Some(e),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_state_machine_does_not_exist()) =>
        {
            None
        }
        Err(e) => return Err(fail(DisplayErrorContext(e).to_string())),
    };
    let change = match existing {
        Some(e) if e.definition == m.definition && e.role_arn == m.role_arn => Change::Unchanged,
        Some(_) => {
            sfn.update_state_machine()
                .state_machine_arn(&m.state_machine_arn)
                .definition(&m.definition)
                .role_arn(&m.role_arn)
                .set_logging_configuration(m.logging_configuration.clone())
                .set_tracing_configuration(m.tracing_configuration.clone())
                .send()
                .await
                .map_err(|e| fail(DisplayErrorContext(e).to_string()))?;
            Change::Updated
        }
        None => {
            let made = sfn
                .create_state_machine()
                .name(&m.name)
                .definition(&m.definition)
                .role_arn(&m.role_arn)
                .r#type(m.r#type.clone())
                .set_logging_configuration(m.logging_configuration.clone())
                .set_tracing_configuration(m.tracing_configuration.clone())
                .send()
                .await
                .map_err(|e| fail(DisplayErrorContext(e).to_string()))?;
            if made.state_machine_arn != m.state_machine_arn {
                return Err(MachinesError::OtherArn {
                    name: m.name.clone(),
                    arn: m.state_machine_arn.clone(),
                    got: made.state_machine_arn,
                });
            }
            Change::Created
        }
    };
    Ok(Runnable {
        arn: m.state_machine_arn,
        name: m.name,
        change,
    })
}
