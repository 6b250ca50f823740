//! Which of a service's functions a process runs. A service ships one
//! binary with all of its functions in it; Lambda starts a
//! `provided.al2023` function's process with the function's `Handler` in
//! `_HANDLER`, and the template gives each function its own.

/// The variable Lambda's OS-only runtimes set to the function's `Handler`.
pub const VARIABLE: &str = "_HANDLER";

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    #[error(
        "{VARIABLE} is not set: Lambda sets it to the function's Handler, which names the function this binary runs"
    )]
    Missing,
    #[error(transparent)]
    Unknown(#[from] Unknown),
}

/// A `Handler` the binary has no function for.
#[derive(Debug, thiserror::Error)]
#[error("this binary has no function {given:?} (its Handler); it runs {known}")]
pub struct Unknown {
    given: String,
    known: String,
}

impl Unknown {
    pub fn new(given: &str, known: &[&str]) -> Unknown {
        Unknown {
            given: given.to_owned(),
            known: known.join(", "),
        }
    }
}

/// The function's `Handler`, as Lambda started the process.
pub fn from_env() -> Result<String, HandlerError> {
    std::env::var(VARIABLE)
        .ok()
        .filter(|h| !h.is_empty())
        .ok_or(HandlerError::Missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A template that names a function the binary lacks fails at start,
    /// saying what it has: the deploy's pre-traffic hook sees the error.
    #[test]
    fn an_unknown_handler_names_the_ones_there_are() {
        let e = Unknown::new("ap", &["api", "publisher"]).to_string();
        assert_eq!(
            e,
            "this binary has no function \"ap\" (its Handler); it runs api, publisher"
        );
    }
}
