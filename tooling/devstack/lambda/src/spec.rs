//! What the Lambda emulator is given for one function: its [`Spec`] and
//! the [`Configuration`] Lambda's API reports. The models the Runtime API,
//! the Invoke API and the composition all share sit here, at the bottom,
//! so none of them reaches into another for them.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use serde_json::Value;

/// What a function process needs to start.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Display name, `<stack>/<LogicalId>`.
    pub name: String,
    pub physical_name: String,
    pub arn: String,
    pub binary: PathBuf,
    pub env: Vec<(String, String)>,
    pub timeout: Duration,
    /// Where hops and the process's output are recorded.
    pub recorder: Option<Arc<crate::recorder::Recorder>>,
    /// What Lambda's GetFunction and ListFunctions say about it.
    pub configuration: Configuration,
    /// A JSON Lines file that gets every event exactly as `/next` hands it
    /// over, with its headers: what the parity suite compares with AWS.
    pub capture: Option<PathBuf>,
    /// The local cap on its execution environments (the account's
    /// concurrency, sized to this machine); reserved concurrency lowers it.
    pub max_environments: u32,
}

impl Spec {
    /// The account that holds it, as its ARN names it.
    pub fn account(&self) -> &str {
        self.arn.split(':').nth(4).unwrap_or_default()
    }

    /// How many invocations one of its environments runs at once: more
    /// than one under Lambda Managed Instances.
    pub fn per_environment(&self) -> u32 {
        self.configuration
            .per_environment_concurrency
            .unwrap_or(1)
            .max(1)
    }
}

/// What GetFunction and ListFunctions report about a function beyond its
/// name, ARN and timeout: the deployed configuration, corrected where the
/// emulator's record of it is wrong. Read once at start: a `devstack
/// deploy` swaps binary and environment without changing it.
#[derive(Debug, Clone, Default)]
pub struct Configuration {
    pub runtime: String,
    pub handler: String,
    pub role: String,
    pub description: String,
    pub memory_size: i32,
    pub ephemeral_storage_mb: i32,
    pub architectures: Vec<String>,
    pub tracing_mode: String,
    pub log_format: String,
    pub log_group: String,
    /// The deployed variables with the values only the local cloud knows
    /// filled in; without the local plumbing (endpoints, credentials) the
    /// process gets besides.
    pub environment: BTreeMap<String, String>,
    pub dead_letter_target: Option<String>,
    /// `ReservedConcurrentExecutions`: at most this many at once; 0
    /// throttles every invocation.
    pub reserved_concurrency: Option<u32>,
    /// Lambda Managed Instances (`CapacityProviderConfig`'s
    /// `PerExecutionEnvironmentMaxConcurrency`): how many invocations one
    /// execution environment runs at once; none is the classic model, one.
    pub per_environment_concurrency: Option<u32>,
    /// The alias its event sources invoke (`AutoPublishAlias`), which an
    /// Invoke may name as its qualifier.
    pub alias: Option<String>,
    /// Of the placeholder package the emulator holds: the binary that runs
    /// is never packaged.
    pub code_sha256: String,
    /// AWS's format, `2026-11-22T10:00:00.000+0000`.
    pub last_modified: String,
    pub revision_id: String,
    pub tags: BTreeMap<String, String>,
}

#[derive(Debug, thiserror::Error)]
#[error("reading the configuration of {function} from the emulator: {message}")]
pub struct ConfigurationError {
    function: String,
    message: String,
}

/// What the local cloud knows about a deployed function that the
/// emulator's record of it lacks.
pub struct Deployment<'a> {
    pub stack: &'a str,
    pub logical_id: &'a str,
    pub physical: &'a str,
    /// The adapted template: the function's resource and the parameters
    /// its properties refer to.
    pub template: &'a Value,
    pub environment: &'a [(String, String)],
    pub dead_letter: Option<&'a str>,
    /// The stack's tags, which CloudFormation passes on to the function.
    pub stack_tags: &'a [(&'a str, &'a str)],
}

/// What the emulator's GetFunctionConfiguration says about a deployed
/// function. Read once after a deploy: a kept state carries it to every
/// cloud forked from it, which then read nothing.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Record {
    pub runtime: String,
    pub handler: String,
    pub role: String,
    pub description: String,
    pub memory_size: i32,
    pub ephemeral_storage_mb: i32,
    pub architectures: Vec<String>,
    pub code_sha256: String,
    /// AWS's format, `2026-11-22T10:00:00.000+0000`.
    pub last_modified: String,
    /// The variables as deployed: placeholders where only the local cloud
    /// knows the value ([`Record::environment`] fills them in).
    pub variables: BTreeMap<String, String>,
}

impl Record {
    pub async fn read(conf: &SdkConfig, physical: &str) -> Result<Record, ConfigurationError> {
        let config = aws_sdk_lambda::Client::new(conf)
            .get_function_configuration()
            .function_name(physical)
            .send()
            .await
            .map_err(|e| ConfigurationError {
                function: physical.to_owned(),
                message: aws_sdk_lambda::error::DisplayErrorContext(e).to_string(),
            })?;
        let last_modified = config
            .last_modified()
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or_else(chrono::Utc::now)
            .format("%Y-%m-%dT%H:%M:%S%.3f%z")
            .to_string();
        Ok(Record {
            runtime: (config.runtime())
                .map(|r| r.as_str().to_owned())
                .unwrap_or_default(),
            handler: config.handler().unwrap_or_default().to_owned(),
            role: config.role().unwrap_or_default().to_owned(),
            description: config.description().unwrap_or_default().to_owned(),
            memory_size: config.memory_size().unwrap_or(128),
            ephemeral_storage_mb: config.ephemeral_storage().map_or(512, |e| e.size()),
            architectures: (config.architectures().iter())
                .map(|a| a.as_str().to_owned())
                .collect(),
            code_sha256: config.code_sha256().unwrap_or_default().to_owned(),
            last_modified,
            variables: (config.environment().and_then(|e| e.variables()))
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .collect(),
        })
    }

    /// The deployed variables with the values only the local cloud knows
    /// (`substitutions`, by placeholder) filled in: what Lambda's API
    /// reports.
    pub fn environment(&self, substitutions: &BTreeMap<String, String>) -> Vec<(String, String)> {
        (self.variables.iter())
            .map(|(k, v)| (k.clone(), substitutions.get(v).unwrap_or(v).clone()))
            .collect()
    }
}

impl Configuration {
    /// The emulator's `record` of the function, with what it drops
    /// (`Architectures`, `TracingConfig`, tags) taken from the template.
    pub fn of(record: &Record, d: &Deployment<'_>) -> Configuration {
        let props = &d.template["Resources"][d.logical_id]["Properties"];
        // The stacks are deployed without parameter overrides.
        let resolve = |v: &Value| match v["Ref"].as_str() {
            Some(p) => d.template["Parameters"][p]["Default"]
                .as_str()
                .map(str::to_owned),
            None => v.as_str().map(str::to_owned),
        };
        let architectures: Vec<String> = match props["Architectures"].as_array() {
            Some(list) => list.iter().filter_map(resolve).collect(),
            None => record.architectures.clone(),
        };
        let mut tags: BTreeMap<String, String> = props["Tags"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| Some((t["Key"].as_str()?.to_owned(), resolve(&t["Value"])?)))
            .collect();
        for (k, v) in d.stack_tags {
            tags.insert((*k).to_owned(), (*v).to_owned());
        }
        tags.insert("aws:cloudformation:stack-name".into(), d.stack.to_owned());
        tags.insert(
            "aws:cloudformation:logical-id".into(),
            d.logical_id.to_owned(),
        );
        Configuration {
            runtime: record.runtime.clone(),
            handler: record.handler.clone(),
            role: record.role.clone(),
            description: record.description.clone(),
            memory_size: record.memory_size,
            ephemeral_storage_mb: record.ephemeral_storage_mb,
            architectures,
            tracing_mode: props["TracingConfig"]["Mode"]
                .as_str()
                .unwrap_or("PassThrough")
                .to_owned(),
            log_format: props["LoggingConfig"]["LogFormat"]
                .as_str()
                .unwrap_or("Text")
                .to_owned(),
            log_group: props["LoggingConfig"]["LogGroup"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("/aws/lambda/{}", d.physical)),
            environment: d.environment.iter().cloned().collect(),
            dead_letter_target: d.dead_letter.map(str::to_owned),
            reserved_concurrency: props["ReservedConcurrentExecutions"]
                .as_u64()
                .or_else(|| {
                    resolve(&props["ReservedConcurrentExecutions"])?
                        .parse()
                        .ok()
                })
                .map(|n| n as u32),
            per_environment_concurrency: {
                let per = &props["CapacityProviderConfig"]["LambdaManagedInstancesCapacityProviderConfig"]
                    ["PerExecutionEnvironmentMaxConcurrency"];
                (per.as_u64())
                    .or_else(|| resolve(per)?.parse().ok())
                    .map(|n| n as u32)
            },
            alias: None,
            code_sha256: record.code_sha256.clone(),
            last_modified: record.last_modified.clone(),
            revision_id: uuid::Uuid::new_v4().to_string(),
            tags,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        Record {
            runtime: "provided.al2023".into(),
            handler: "bootstrap".into(),
            role: "arn:aws:iam::123456789012:role/todos-ApiRole-X".into(),
            description: String::new(),
            memory_size: 128,
            ephemeral_storage_mb: 512,
            architectures: vec!["x86_64".into()],
            code_sha256: "abc".into(),
            last_modified: "2026-11-27T10:00:00.000+0000".into(),
            variables: [
                ("TABLE".to_owned(), "todos-Table-X".to_owned()),
                ("SENDER_URL".to_owned(), "http://sender.invalid".to_owned()),
            ]
            .into(),
        }
    }

    /// A kept record serves every cloud forked from it: each fills in its
    /// own values, and the template says what the emulator dropped.
    #[test]
    fn a_record_becomes_each_clouds_configuration() {
        let substitutions = [(
            "http://sender.invalid".to_owned(),
            "http://127.0.0.1:4001".to_owned(),
        )]
        .into();
        let env = record().environment(&substitutions);
        assert_eq!(
            env,
            [
                ("SENDER_URL".to_owned(), "http://127.0.0.1:4001".to_owned()),
                ("TABLE".to_owned(), "todos-Table-X".to_owned()),
            ]
        );
        let template = serde_json::json!({
            "Parameters": {"Arch": {"Default": "arm64"}},
            "Resources": {"Api": {"Properties": {
                "Architectures": [{"Ref": "Arch"}],
                "TracingConfig": {"Mode": "Active"},
                "Tags": [{"Key": "team", "Value": "todos"}]}}}
        });
        let c = Configuration::of(
            &record(),
            &Deployment {
                stack: "todos",
                logical_id: "Api",
                physical: "todos-Api-X",
                template: &template,
                environment: &env,
                dead_letter: None,
                stack_tags: &[("service", "todos")],
            },
        );
        assert_eq!(
            c.architectures,
            ["arm64"],
            "the template's, not the record's"
        );
        assert_eq!(c.tracing_mode, "Active");
        assert_eq!(c.environment["SENDER_URL"], "http://127.0.0.1:4001");
        assert_eq!(c.role, record().role);
        assert_eq!(c.log_group, "/aws/lambda/todos-Api-X");
        assert_eq!(c.tags["team"], "todos");
        assert_eq!(c.tags["service"], "todos");
        assert_eq!(c.tags["aws:cloudformation:logical-id"], "Api");
        let text = serde_json::to_string(&record()).unwrap();
        let arrived: Record = serde_json::from_str(&text).unwrap();
        assert_eq!(arrived.variables, record().variables);
    }
}
