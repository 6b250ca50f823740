//! What a failure shows of the functions it drove. A quiet cloud (the
//! tests': [`crate::start::Options::echo_logs`] off) keeps the functions'
//! output in its telemetry folder only; when a thread of this process
//! panics (an assertion in a test), the tail of each log that a running
//! quiet cloud wrote in the last minute is printed on that thread's
//! stderr, after the panic's own message. A test harness captures it with
//! the failure, and throws it away when the test passes.

use std::sync::{Arc, Mutex, Once, Weak};
use std::time::Duration;

use devstack_lambda::recorder::Recorder;

/// How far back a log counts as written by the failing test's calls.
const WITHIN: Duration = Duration::from_secs(60);
/// The lines kept of each such log.
const LINES: usize = 15;

/// The quiet clouds' recorders; a stopped cloud's is gone.
static WATCHED: Mutex<Vec<Weak<Recorder>>> = Mutex::new(Vec::new());
static HOOK: Once = Once::new();

/// Shows `recorder`'s recent logs when a thread panics while it lives.
pub fn watch(recorder: &Arc<Recorder>) {
    let mut watched = WATCHED.lock().unwrap_or_else(|e| e.into_inner());
    watched.retain(|r| r.strong_count() > 0);
    watched.push(Arc::downgrade(recorder));
    drop(watched);
    HOOK.call_once(|| {
        let before = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            before(info);
            eprint!("{}", recent_logs());
        }));
    });
}

/// The recent logs of every live quiet cloud of this process.
fn recent_logs() -> String {
    let live: Vec<Arc<Recorder>> = WATCHED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .filter_map(Weak::upgrade)
        .collect();
    live.iter()
        .map(|r| r.recent_logs(WITHIN, LINES))
        .filter(|logs| !logs.is_empty())
        .map(|logs| {
            format!("the functions' recent logs (a local cloud's telemetry folder):\n{logs}")
        })
        .collect()
}
