//! A source file the bench edits, put back as it was however the bench
//! ends (an error, a panic, Ctrl-C: the command's signal handler returns
//! through here).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

pub(crate) struct Restore {
    path: PathBuf,
    original: String,
}

impl Restore {
    pub(crate) fn new(path: &Path) -> Result<Restore> {
        let original =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Ok(Restore {
            path: path.to_owned(),
            original,
        })
    }

    pub(crate) fn original(&self) -> &str {
        &self.original
    }

    pub(crate) fn write(&self, text: &str) -> Result<()> {
        std::fs::write(&self.path, text).with_context(|| format!("writing {}", self.path.display()))
    }

    pub(crate) fn put_back(&self) -> Result<()> {
        self.write(&self.original)
    }
}

impl Drop for Restore {
    fn drop(&mut self) {
        if let Err(e) = self.put_back() {
            eprintln!("could not put {} back: {e:#}", self.path.display());
        }
    }
}
