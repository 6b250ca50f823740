//! Each version's own copy of its code, as Lambda keeps a published
//! version's package: the build that deployed it, whatever the next build
//! writes at the same path. An environment that starts again (after a
//! crash, a kill, a scale-out) starts from its version's copy, so a
//! rollback stays rolled back and a later build rescues no bad version.
//!
//! A copy is a hard link when it can be: a build replaces the file at its
//! path with a new one (the linker writes a new file and cargo links it
//! into place), so the link keeps the old bytes at no cost. Where the
//! folder is on another file system, the bytes are copied.

use std::path::{Path, PathBuf};

const PREFIX: &str = ".devstack-version-";

/// Removes the folders of clouds whose process has ended without removing
/// them (a test binary keeps its clouds until it exits): a link in one
/// would keep an old build's bytes on disk.
fn sweep(parent: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid = (name.strip_prefix(PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<i32>().ok());
        if pid.is_some_and(ended) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// Whether no process has the id `pid` any more.
fn ended(pid: i32) -> bool {
    // SAFETY: signal 0 sends nothing; it only asks whether `pid` exists.
    let asked = unsafe { libc::kill(pid, 0) };
    asked != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}

/// One function's versions, in a folder beside its binary (the same file
/// system), removed with the function, or by the next cloud's sweep when
/// its process ended first.
pub(crate) struct Code {
    dir: tempfile::TempDir,
}

impl Code {
    /// A folder for the versions of the function whose binary is `binary`.
    pub(crate) fn beside(binary: &Path) -> std::io::Result<Code> {
        let parent = binary.parent().unwrap_or(Path::new("."));
        // Once per folder and process: every function of a cloud starts
        // here, most from the same folder.
        static SWEPT: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());
        let mut swept = SWEPT.lock().unwrap_or_else(|e| e.into_inner());
        if !swept.iter().any(|p| p == parent) {
            sweep(parent);
            swept.push(parent.to_path_buf());
        }
        drop(swept);
        let dir = tempfile::Builder::new()
            .prefix(&format!("{PREFIX}{}-", std::process::id()))
            .tempdir_in(parent)
            .or_else(|_| tempfile::tempdir())?;
        Ok(Code { dir })
    }

    /// `binary` as `version`'s code: where the version's processes start
    /// from. Publishing a version again (a swap) replaces its code.
    pub(crate) fn publish(&self, version: u32, binary: &Path) -> std::io::Result<PathBuf> {
        let folder = self.dir.path().join(format!("v{version}"));
        std::fs::create_dir_all(&folder)?;
        let name = binary
            .file_name()
            .unwrap_or(std::ffi::OsStr::new("bootstrap"));
        let target = folder.join(name);
        // Beside it first, then over it in one step: a process starting
        // meanwhile finds the old file or the new, never half of one.
        let staged = folder.join(format!(".{}.new", uuid::Uuid::new_v4().simple()));
        if std::fs::hard_link(binary, &staged).is_err() {
            std::fs::copy(binary, &staged)?;
        }
        std::fs::rename(&staged, &target)?;
        Ok(target)
    }

    /// A version that left the alias: its code goes.
    pub(crate) fn retire(&self, version: u32) {
        let _ = std::fs::remove_dir_all(self.dir.path().join(format!("v{version}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_keeps_its_bytes_when_the_build_replaces_the_file() {
        let build = tempfile::tempdir().unwrap();
        let binary = build.path().join("todos-api");
        std::fs::write(&binary, "good build").unwrap();
        let code = Code::beside(&binary).unwrap();
        let v1 = code.publish(1, &binary).unwrap();
        // The next build: a new file at the same path, as the linker and
        // cargo write it.
        let next = build.path().join("todos-api.tmp");
        std::fs::write(&next, "bad build").unwrap();
        std::fs::rename(&next, &binary).unwrap();
        let v2 = code.publish(2, &binary).unwrap();
        assert_eq!(std::fs::read_to_string(&v1).unwrap(), "good build");
        assert_eq!(std::fs::read_to_string(&v2).unwrap(), "bad build");
        code.retire(2);
        assert!(!v2.exists());
        assert_eq!(std::fs::read_to_string(&v1).unwrap(), "good build");
    }
}
