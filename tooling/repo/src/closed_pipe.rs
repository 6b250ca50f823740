//! How the tools end when their reader goes away (`ops events tail | head`,
//! `cargo xtask plan | head`): quietly, as any Unix tool does.
//!
//! Rust starts with SIGPIPE ignored, so a print to a closed pipe fails and
//! `println!` panics. Giving SIGPIPE back its default would end the process
//! quietly, but also when an SDK or HTTP connection's socket is closed by
//! its peer mid-write (vectored socket writes raise SIGPIPE, where plain
//! sends do not), so the disposition stays and this one panic becomes the
//! exit a shell knows from a tool killed by SIGPIPE: 128 + 13.

use std::panic::PanicHookInfo;

/// The status a shell reports for a process ended by SIGPIPE.
pub const EXIT_STATUS: u8 = 128 + 13;

/// Installs the panic hook that turns a print to a closed stdout into a
/// quiet exit; every other panic is reported as before.
pub fn end_quietly_when_the_reader_goes() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if is_a_print_to_a_closed_pipe(info) {
            std::process::exit(EXIT_STATUS.into());
        }
        report(info);
    }));
}

fn is_a_print_to_a_closed_pipe(info: &PanicHookInfo<'_>) -> bool {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or_default();
    names_a_closed_pipe(message)
}

/// EPIPE, on Linux and macOS alike.
const EPIPE: i32 = 32;

/// The standard library's message for a failed `print!` to stdout whose
/// error was EPIPE.
fn names_a_closed_pipe(message: &str) -> bool {
    message.starts_with("failed printing to stdout")
        && message.ends_with(&std::io::Error::from_raw_os_error(EPIPE).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_print_to_a_closed_stdout_is_a_closed_pipe() {
        let epipe = std::io::Error::from_raw_os_error(EPIPE);
        assert!(names_a_closed_pipe(&format!(
            "failed printing to stdout: {epipe}"
        )));
        assert!(!names_a_closed_pipe(&format!(
            "failed printing to stderr: {epipe}"
        )));
        assert!(!names_a_closed_pipe(
            "failed printing to stdout: No space left on device (os error 28)"
        ));
        assert!(!names_a_closed_pipe("index out of bounds"));
    }
}
