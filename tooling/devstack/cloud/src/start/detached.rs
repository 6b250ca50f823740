//! A local cloud on a thread of its own.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::Result;
use devstack_api::Endpoints;
use devstack_lambda::runtime::Function;

use super::options::Options;
use super::run::{Running, start};
use crate::redeploy::Control;

/// A local cloud on a thread and runtime of its own, for tests and tools
/// whose own runtime must not block on it: it runs until the process ends.
pub struct Detached {
    pub endpoints: Endpoints,
    pub functions: BTreeMap<String, Function>,
    /// [`Running::from_kept_state`].
    pub from_kept_state: bool,
    pub control: Arc<Control>,
    runtime: Option<tokio::runtime::Runtime>,
    running: Option<Running>,
}

impl Drop for Detached {
    fn drop(&mut self) {
        // Stops the tasks (and so the function processes) without blocking,
        // so it may be dropped from async code.
        drop(self.running.take());
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

pub fn start_detached(options: Options) -> Result<Detached> {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new()?;
        let running = runtime.block_on(start(options))?;
        Ok(Detached {
            endpoints: running.endpoints.clone(),
            functions: running.functions.clone(),
            from_kept_state: running.from_kept_state,
            control: running.control.clone(),
            runtime: Some(runtime),
            running: Some(running),
        })
    })
    .join()
    .map_err(|_| anyhow::anyhow!("the local cloud's thread panicked"))?
}
