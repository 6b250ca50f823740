//! git, as the tools here ask it: one runner, its errors carrying the
//! command and git's own message.

use std::path::Path;
use std::process::{Command, Output};

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("running git: {0}")]
    Spawn(#[from] std::io::Error),
    #[error("git {args}: {stderr}")]
    Failed { args: String, stderr: String },
    #[error("git {args}: the output is not UTF-8")]
    NotUtf8 { args: String },
}

fn output(repo: &Path, args: &[&str]) -> Result<Output, GitError> {
    Ok(Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .output()?)
}

fn text(args: &[&str], bytes: Vec<u8>) -> Result<String, GitError> {
    String::from_utf8(bytes).map_err(|_| GitError::NotUtf8 {
        args: args.join(" "),
    })
}

/// `git -C repo args…`: its standard output, or an error with its stderr.
pub fn run(repo: &Path, args: &[&str]) -> Result<String, GitError> {
    let out = output(repo, args)?;
    if !out.status.success() {
        return Err(GitError::Failed {
            args: args.join(" "),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        });
    }
    text(args, out.stdout)
}

/// A file as committed at `rev`, or `None` when it is not in that commit.
pub fn show(repo: &Path, rev: &str, file: &str) -> Result<Option<String>, GitError> {
    let spec = format!("{rev}:{file}");
    let args = ["show", spec.as_str()];
    let out = output(repo, &args)?;
    if out.status.success() {
        return text(&args, out.stdout).map(Some);
    }
    let err = String::from_utf8_lossy(&out.stderr);
    if err.contains("does not exist") || err.contains("exists on disk, but not in") {
        return Ok(None);
    }
    Err(GitError::Failed {
        args: args.join(" "),
        stderr: err.trim().to_owned(),
    })
}

/// The commit a tree was built from: `git rev-parse HEAD`, with `-dirty`
/// when the work tree has changes, so a tag never claims a commit the
/// binaries do not match; `unknown` outside git.
pub fn commit_of(root: &Path) -> String {
    let git = |args: &[&str]| run(root, args).ok().map(|o| o.trim().to_owned());
    match git(&["rev-parse", "HEAD"]) {
        Some(head) => match git(&["status", "--porcelain", "--untracked-files=no"]) {
            Some(changes) if !changes.is_empty() => format!("{head}-dirty"),
            _ => head,
        },
        None => "unknown".to_owned(),
    }
}
