//! How an invocation ends.

use std::time::Duration;

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvokeError {
    /// The handler returned an error (`/error`), as `{errorType, errorMessage}`.
    #[error("{error_type}: {message}")]
    Function { error_type: String, message: String },
    #[error("Task timed out after {0:?}")]
    Timeout(Duration),
    #[error("Runtime exited: {0}")]
    Crashed(String),
    #[error("the local cloud is stopping")]
    Stopped,
    /// The function's reserved concurrency is used up (or is 0):
    /// Lambda's 429 `TooManyRequestsException`.
    #[error("Rate Exceeded.")]
    Throttled,
    /// An async event waited in the queue past `MaximumEventAgeInSeconds`,
    /// after `attempts` runs (throttled tries are none).
    #[error("Event age exceeded: older than {max_age:?}")]
    EventAgeExceeded { max_age: Duration, attempts: u32 },
}

impl InvokeError {
    pub fn error_type(&self) -> &str {
        match self {
            InvokeError::Function { error_type, .. } => error_type,
            InvokeError::Timeout(_) => "Sandbox.Timedout",
            InvokeError::Crashed(_) => "Runtime.ExitError",
            InvokeError::Stopped => "Runtime.Stopped",
            InvokeError::Throttled => "TooManyRequestsException",
            InvokeError::EventAgeExceeded { .. } => "EventAgeExceeded",
        }
    }
}

pub type Outcome = Result<Value, InvokeError>;
