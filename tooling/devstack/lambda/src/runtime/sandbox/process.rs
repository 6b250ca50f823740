//! The function's process: started, supervised, restarted after it dies,
//! and killed with the local cloud.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::runtime_api::runtime_api;
use super::shared::{CLOSED, First, Shared};
use crate::runtime::outcome::InvokeError;
use crate::spec::Spec;

pub(super) async fn supervise(
    spec: Arc<Spec>,
    shared: Arc<Shared>,
    first: tokio::net::TcpListener,
) {
    let mut backoff = Duration::from_millis(50);
    let mut listener = Some(first);
    let mut generation = CLOSED;
    loop {
        let listener = match listener.take() {
            Some(l) => l,
            None => match tokio::net::TcpListener::bind("127.0.0.1:0").await {
                Ok(l) => l,
                Err(e) => {
                    tracing::error!(target: "trail", function = %spec.name, error = %e, "no port for the Runtime API");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            },
        };
        let api = match listener.local_addr() {
            Ok(a) => a.to_string(),
            Err(_) => continue,
        };
        generation += 1;
        let server = tokio::spawn({
            let app = runtime_api(spec.clone(), shared.clone(), generation);
            async move {
                let _ = axum::serve(listener, app).await;
            }
        });
        let started = Instant::now();
        let Some(status) = run_process(&spec, &shared, &api, generation).await else {
            server.abort();
            tokio::time::sleep(Duration::from_secs(2)).await;
            continue;
        };
        // Retire the generation before anything else can be handed to it.
        shared.dispatching.send_replace(CLOSED);
        server.abort();
        // Whatever it was working on failed with it.
        for (_, i) in shared.in_flight.lock().await.drain() {
            let _ = i.reply.send(Err(InvokeError::Crashed(status.clone())));
        }
        // It never asked for work: its init failed. Lambda answers the
        // invocations waiting for it at once, as errors, and tries init
        // again for the next one; here they would wait out the timeout
        // while the restarts back off, and no alarm would see them.
        let never_asked = shared.spawned_at.lock().await.take().is_some();
        if never_asked && status != KILLED {
            failed_init(&spec, &shared, &status).await;
        }
        if shared.ended.load(std::sync::atomic::Ordering::SeqCst) {
            tracing::info!(target: "trail", function = %spec.name, "environment stopped: its version left the alias");
            return;
        }
        if shared
            .retiring
            .swap(false, std::sync::atomic::Ordering::SeqCst)
        {
            let next = shared.launch.lock().await.binary.display().to_string();
            tracing::info!(target: "trail", function = %spec.name, binary = %next, "swapping the process");
            continue;
        }
        shared.metrics.lock().await.restarts += 1;
        tracing::warn!(target: "trail", function = %spec.name, %status, "process exited; restarting");
        // A process that dies at once is not restarted in a hot loop.
        backoff = if started.elapsed() > Duration::from_secs(5) {
            Duration::from_millis(50)
        } else {
            (backoff * 2).min(Duration::from_secs(5))
        };
        tokio::time::sleep(backoff).await;
    }
}

/// How a process the local cloud ended (a kill, a swap, a stop) ended.
const KILLED: &str = "killed";

/// Fails every invocation waiting for an environment whose init failed,
/// with Lambda's `Runtime.ExitError`.
async fn failed_init(spec: &Spec, shared: &Shared, status: &str) {
    let mut queue = shared.queue.lock().await;
    let mut failed = 0;
    while let Ok(i) = queue.try_recv() {
        let _ = i
            .reply
            .send(Err(InvokeError::Crashed(format!("init: {status}"))));
        failed += 1;
    }
    tracing::error!(target: "trail", function = %spec.name, %status, failed, "init failed: the waiting invocations failed");
}

/// The process is killed when the local cloud ends, however it ends: a
/// test binary exits without dropping its cloud, and a function in
/// `lambda_runtime`'s concurrent mode retries a refused `/next` at once,
/// forever (the classic loop returns, and its process ends). Three such
/// orphans were found spinning at half a core each.
#[cfg(target_os = "linux")]
fn die_with_the_cloud(cmd: &mut tokio::process::Command) {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: between fork and exec the closure calls only prctl, getppid
    // and _exit, which are async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            // Sent when the thread that forked ends: tokio's workers live
            // as long as the cloud's runtime, and spawn from its tasks.
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The cloud ended before the line above.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_the_cloud(_: &mut tokio::process::Command) {}

/// Starts one process of the function against the Runtime API at `api`
/// and runs it until it exits or is killed: how it ended, or `None` when
/// it could not start.
async fn run_process(spec: &Spec, shared: &Shared, api: &str, generation: u64) -> Option<String> {
    let launch = shared.launch.lock().await.clone();
    *shared.spawned_at.lock().await = Some(Instant::now());
    *shared.first.lock().await = First::Awaited;
    let mut cmd = tokio::process::Command::new(&launch.binary);
    // The version the local cloud started is unqualified; a version a
    // gradual deployment staged says its number in `launch.env`.
    cmd.env_clear()
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .envs(launch.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", api)
        .env("AWS_LAMBDA_FUNCTION_NAME", &spec.physical_name)
        // What Lambda's OS-only runtimes start the process with: a
        // service's one binary runs the function its Handler names.
        .env("_HANDLER", &spec.configuration.handler)
        .env(
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            spec.configuration.memory_size.to_string(),
        )
        .env(
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", spec.physical_name),
        )
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
        .kill_on_drop(true);
    die_with_the_cloud(&mut cmd);
    // Lambda Managed Instances: the runtime polls for this many at once
    // (`lambda_runtime::run_concurrent`).
    if spec.per_environment() > 1 {
        cmd.env(
            "AWS_LAMBDA_MAX_CONCURRENCY",
            spec.per_environment().to_string(),
        );
    }
    if spec.recorder.is_some() {
        cmd.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
    }
    if let Ok(path) = std::env::var("PATH") {
        cmd.env("PATH", path);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(target: "trail", function = %spec.name, binary = %launch.binary.display(), error = %e, "cannot start");
            return None;
        }
    };
    shared.metrics.lock().await.pid = child.id();
    if let Some(recorder) = &spec.recorder {
        if let Some(pid) = child.id() {
            recorder.process(&devstack_api::telemetry::ProcessStarted {
                function: spec.name.clone(),
                pid,
                at_ms: devstack_api::telemetry::now_ms(),
            });
        }
        if let Some(out) = child.stdout.take() {
            tokio::spawn(relay(out, recorder.clone(), spec.name.clone(), false));
        }
        if let Some(err) = child.stderr.take() {
            tokio::spawn(relay(err, recorder.clone(), spec.name.clone(), true));
        }
    }
    shared.generation.send_replace(generation);
    shared.dispatching.send_replace(generation);
    Some(tokio::select! {
        s = child.wait() => s.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string()),
        () = shared.kill.notified() => {
            let _ = child.kill().await;
            KILLED.to_owned()
        }
    })
}

/// A function's output, line by line, to the recorder: its log, its
/// metrics, and this process's output when the cloud echoes.
async fn relay(
    from: impl tokio::io::AsyncRead + Unpin,
    recorder: Arc<crate::recorder::Recorder>,
    function: String,
    stderr: bool,
) {
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(from).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        recorder.function_line(&function, &line, stderr);
    }
}
