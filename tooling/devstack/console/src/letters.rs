//! Dead letters, through the ops binary: what `ops dlq peek` shows and
//! what `ops dlq replay` does, the same code path a person runs at 3 a.m.,
//! against this cloud's endpoints file.

use std::path::PathBuf;

use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub struct Ops {
    pub binary: PathBuf,
    pub endpoints_file: PathBuf,
}

impl Ops {
    fn services(&self) -> Result<Vec<String>, String> {
        let endpoints =
            devstack_api::Endpoints::read(&self.endpoints_file).map_err(|e| e.to_string())?;
        Ok(endpoints.services.into_keys().collect())
    }

    async fn run(&self, args: &[&str]) -> Result<(bool, Value), String> {
        let out = tokio::process::Command::new(&self.binary)
            .arg("--endpoints-file")
            .arg(&self.endpoints_file)
            .arg("--json")
            .args(args)
            .output()
            .await
            .map_err(|e| format!("running {}: {e}", self.binary.display()))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        match serde_json::from_str(&stdout) {
            Ok(v) => Ok((out.status.success(), v)),
            Err(_) => Err(format!(
                "ops {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            )),
        }
    }

    /// Each service's dead letters, as `ops dlq peek --json` decodes them.
    pub async fn letters(&self) -> Result<Value, String> {
        let mut out = Vec::new();
        for service in self.services()? {
            let (_, letters) = self.run(&["dlq", "peek", &service, "--max", "50"]).await?;
            out.push(json!({ "service": service, "letters": letters }));
        }
        Ok(Value::Array(out))
    }

    /// One letter replayed to the function that failed it; the report of
    /// `ops dlq replay --json` (exit 1, failed again, is a report too).
    pub async fn replay(&self, service: &str, message_id: &str) -> Result<Value, String> {
        if !self.services()?.iter().any(|s| s == service) {
            return Err(format!(
                "service: {service:?} is not a service of this cloud"
            ));
        }
        let plain = |c: char| c.is_ascii_alphanumeric() || c == '-';
        if message_id.is_empty() || !message_id.chars().all(plain) {
            return Err(format!(
                "message_id: {message_id:?} is not an SQS message id"
            ));
        }
        let (_, report) = self
            .run(&[
                "dlq",
                "replay",
                service,
                "--message-id",
                message_id,
                "--max",
                "1",
            ])
            .await?;
        Ok(report)
    }
}
