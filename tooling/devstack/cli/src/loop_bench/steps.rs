//! The test command's own breakdown, read from its output: each step it
//! times prints a line `==> <step>…<seconds> s` (`==> build: 265 s`,
//! `==> tests: `all` in 218 s`).

/// Each timed step in `log`, in order.
pub(crate) fn timed(log: &str) -> Vec<(String, f64)> {
    log.lines()
        .filter_map(|line| {
            let (head, number) = line
                .strip_prefix("==> ")?
                .strip_suffix(" s")?
                .rsplit_once(' ')?;
            let seconds = number.parse().ok()?;
            let name = head.trim_end_matches(" in").trim_end_matches(':');
            Some((name.to_owned(), seconds))
        })
        .collect()
}

/// Where the run called `name` keeps its output, under the checkout's
/// `.local/`.
pub(crate) fn log_in(root: &std::path::Path, name: &str) -> std::path::PathBuf {
    root.join(".local/loop-bench").join(format!("{name}.log"))
}

/// A run's outcome for the table, with where its log is.
pub(crate) fn outcome(passed: bool, log: &std::path::Path) -> String {
    let verdict = if passed { "passed" } else { "FAILED" };
    format!("{verdict} (log: {})", log.display())
}

/// Runs `command` with its output in `log`; whether it passed and the
/// log's text. The command ends with this one's Ctrl-C (its process group
/// gets the signal), and a dropped wait kills it.
pub(crate) async fn run_logged(
    mut command: std::process::Command,
    log: &std::path::Path,
) -> anyhow::Result<(bool, String)> {
    use anyhow::Context;
    if let Some(dir) = log.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let out = std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    command.stdout(out.try_clone()?).stderr(out);
    let mut child = tokio::process::Command::from(command);
    let status = child
        .kill_on_drop(true)
        .status()
        .await
        .context("starting cargo")?;
    Ok((status.success(), std::fs::read_to_string(log)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_lines_of_timed_steps_are_read() {
        let log = "==> build: 265 s\n==> schemas check\nnoise: 3 s\n==> set-up: python venv: 12 s\n==> engine: ready in 1.2 s, each forked\n==> tests: `all` in 218 s\n";
        assert_eq!(
            timed(log),
            vec![
                ("build".into(), 265.0),
                ("set-up: python venv".into(), 12.0),
                ("tests: `all`".into(), 218.0)
            ]
        );
    }
}
