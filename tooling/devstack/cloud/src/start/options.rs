//! What a start may be asked for, and its defaults.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Options {
    /// Use this emulator instead of starting one.
    pub endpoint_url: Option<String>,
    /// Gateway port; 0 picks a free one.
    pub port: u16,
    /// Lambda Invoke API port; 0 picks a free one.
    pub lambda_port: u16,
    /// Where the function binaries are (by default beside this executable).
    pub bin_dir: PathBuf,
    /// Services whose functions run from a `sam build` output instead:
    /// service → its build folder (`<dir>/<LogicalId>/bootstrap`), by
    /// default `services/<name>/.aws-sam/build` ([`repo::sam_build_dir`]).
    pub from_sam: BTreeMap<String, PathBuf>,
    /// Delay between async retries and stream retries.
    pub retry_delay: Duration,
    /// Extra environment for every function, e.g. `RUST_LOG`.
    pub function_env: Vec<(String, String)>,
    /// The WebSocket APIs' quotas (AWS's by default; tests shorten the
    /// timeouts).
    pub socket_limits: devstack_gateway::websocket::Limits,
    /// Web app port; 0 picks a free one.
    pub web_port: u16,
    /// The built web app ([`crate::web::dist_dir`] by default).
    pub web_dir: PathBuf,
    /// Console port; 0 picks a free one.
    pub console_port: u16,
    /// The built console ([`crate::console::dist_dir`] by default).
    pub console_dir: PathBuf,
    /// Where hops, metrics and the functions' logs are recorded
    /// (`devstack_api::telemetry`); a fresh temporary folder by default.
    pub telemetry_dir: Option<PathBuf>,
    /// The functions' output and the stages' access logs also on this
    /// process's stdout/stderr (`devstack up`). Off by default: they are in
    /// the telemetry folder's logs, and a thread that panics while this
    /// cloud runs prints the tail of those written in the last minute
    /// ([`crate::failure`]), which a test harness shows with the failure.
    pub echo_logs: bool,
    /// Where every event is recorded as a function's `/next` hands it over:
    /// `<stack>-<LogicalId>.jsonl`, one `{"headers", "event"}` per line (the
    /// parity suite compares them with AWS's). Off by default, and then
    /// nothing is written.
    pub capture_dir: Option<PathBuf>,
    /// Every function reaches the emulator through a fault proxy of its own
    /// ([`crate::chaos`]), so faults can be injected (`devstack load
    /// --chaos`). Off by default: one hop less on every AWS call.
    pub faults: bool,
    /// How calls AWS would refuse are treated ([`crate::iam`]): refused
    /// (strict, the default), recorded (audit), or not judged (off).
    pub iam: devstack_iam::Mode,
    /// How long a minute of a session STS issues to a function's own
    /// AssumeRole lasts before the judge refuses it as expired (a
    /// minute; a test shortens it to see one expire).
    pub session_minute: Duration,
    /// Stacks deployed from another template than their own (`service` →
    /// its file): a test applies a mistake to a copy of a real template.
    pub templates: BTreeMap<String, PathBuf>,
    /// A stack's parameters as `--parameter-overrides` sets them on AWS:
    /// it deploys with them, and the local gateway enforces the throttles
    /// they set.
    pub parameter_overrides: Vec<Override>,
    /// The most execution environments a function gets at once (its
    /// reserved concurrency lowers it): the account's concurrency, sized
    /// to this machine ([`default_environments`]).
    pub max_environments: u32,
    /// The service stacks deployed (with the platform, always); every one
    /// when `None`. A test of one service's mistake needs no other.
    pub services: Option<BTreeSet<String>>,
    /// Functions run as on Lambda Managed Instances, whatever their
    /// template says (`service/LogicalId` → invocations per environment):
    /// the model compared without a capacity provider in the template.
    pub managed_instances: BTreeMap<String, u32>,
    /// The teams deployed into accounts of their own (service → account;
    /// [`crate::accounts::per_team`] is `devstack up`'s layout). The others
    /// share the platform's account; empty, everything does (a sandbox).
    pub accounts: BTreeMap<String, String>,
}

/// Twice the machine's cores: a function's environments mostly wait on
/// the emulator, and each is a process of its own.
pub fn default_environments() -> u32 {
    std::thread::available_parallelism().map_or(2, |n| n.get() as u32) * 2
}

/// One parameter's value for one stack.
#[derive(Debug, Clone)]
pub struct Override {
    pub stack: String,
    pub parameter: String,
    pub value: String,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            endpoint_url: None,
            port: 0,
            lambda_port: 0,
            bin_dir: repo::profile_dir(),
            from_sam: BTreeMap::new(),
            retry_delay: Duration::from_millis(100),
            function_env: Vec::new(),
            socket_limits: devstack_gateway::websocket::Limits::default(),
            web_port: 0,
            web_dir: crate::web::dist_dir(),
            console_port: 0,
            console_dir: crate::console::dist_dir(),
            telemetry_dir: None,
            echo_logs: false,
            capture_dir: None,
            faults: false,
            iam: devstack_iam::Mode::default(),
            session_minute: Duration::from_secs(60),
            templates: BTreeMap::new(),
            parameter_overrides: Vec::new(),
            max_environments: default_environments(),
            services: None,
            managed_instances: BTreeMap::new(),
            accounts: BTreeMap::new(),
        }
    }
}
