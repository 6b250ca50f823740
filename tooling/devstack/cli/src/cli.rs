//! The `devstack` command line as clap defines it: every subcommand, its
//! arguments and their help. In the library so that the docs test reads
//! it (`Cli::command()`); `main.rs` parses with it and runs each command.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "devstack",
    version,
    about = "The local cloud: the real templates and binaries on the emulator"
)]
pub struct Cli {
    /// Where the endpoints file is written (up) or read (token, walkthrough).
    #[arg(long, global = true, default_value = ".local/endpoints.json")]
    pub endpoints_file: PathBuf,
    /// Logs and the trail as JSON lines.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Subcommand)]
pub enum Cmd {
    /// Start the emulator (or use --endpoint-url), deploy every stack, run
    /// every function, and serve the API until Ctrl-C.
    Up(UpArgs),
    /// Redeploy one service into the running local cloud (the local `sam
    /// deploy`): build it alone, update its stack, swap its processes. The
    /// other services keep running and no event is lost.
    Deploy(DeployArgs),
    /// Sign a user up in the local user pool (if new) and print an ID token.
    Token {
        #[arg(long, default_value = "ada@example.com")]
        email: String,
        #[arg(long, default_value = "Correct-Horse-Battery-9")]
        password: String,
    },
    /// Drive the main journey against a running local cloud, step by step.
    Walkthrough,
    /// Make a user of the local user pool an admin (the `admins` group):
    /// their next ID token may use the campaigns admin API.
    Admin {
        #[arg(long, default_value = "ada@example.com")]
        email: String,
    },
    /// A state machine execution, state by state: input and output,
    /// attempts and retries, the task token handed out, timings. Takes a
    /// campaign id (its execution's name) or an execution ARN.
    Executions { id: String },
    /// Rotate the third-party sender's API key: a new key at the sender's
    /// stand-in, then the SSM parameter overwritten. Campaigns carry on.
    RotateSenderKey {
        #[arg(long, default_value = "/campaigns/sender-api-key")]
        parameter: String,
    },
    /// The waterfall of a trace across services: each hop, its function,
    /// duration and outcome. Takes a correlation id (every trace it caused)
    /// or an X-Ray trace id.
    Trace {
        /// A correlation id or a trace id (`1-…-…`). With --json: the hops
        /// as JSON lines.
        id: String,
    },
    /// Least privilege, measured over a run: per function, the AWS actions
    /// it used on which resources, what its role grants that it never
    /// used, and the smallest policy that would have served the run. Reads
    /// the judge's records under each folder (default: the running or last
    /// local cloud's; the test command keeps its clouds' in
    /// .local/test-telemetry).
    LeastPrivilege {
        #[arg(long = "telemetry", value_name = "DIR")]
        dirs: Vec<PathBuf>,
    },
    /// The EMF metrics the functions printed, added up: a table per service
    /// (with --json: namespace → function → metric → figures).
    Metrics,
    /// Many users at once against the running local cloud, then an exact
    /// account of every action: throughput and latency per route, event
    /// age, and the last line `lost: X, duplicated: Y` (exit 1 unless both
    /// are 0). With --chaos, faults while it runs, then the DLQs replayed.
    Load(LoadArgs),
    /// Measure the local cloud: cold start, function init, end-to-end
    /// latency and where it goes, hop by hop. A warm-up round, then
    /// `--rounds` rounds, each on a fresh local cloud in a process of its
    /// own; prints the median of the rounds with their spread and writes
    /// the report as JSON (--json prints it instead of the table).
    Bench(BenchArgs),
    /// The developer's loop, timed, as a table: notifications' welcome
    /// edited in the working tree, deployed as `deploy --watch` deploys it
    /// and answered by the new version (in the running local cloud), then
    /// put back; `cargo xtask test <team>` after a one-line change; the
    /// whole test command on a fresh clone, step by step.
    LoopBench(LoopBenchArgs),
    /// One campaign to many new recipients, timed: sign-ups, the audience,
    /// the sender's report, every recipient recorded, the last notification
    /// seen. The last line is `missing: X, duplicated: Y` (exit 1 unless
    /// both are 0).
    Campaign(CampaignArgs),
    /// Write docs/conformance.md: every AWS operation the product's
    /// functions and the ops CLI call, who answers it locally, how the
    /// judge sees it and which test exercises it. With --check, write
    /// nothing and fail when the page is stale or a call has no test.
    Conformance {
        #[arg(long)]
        check: bool,
    },
    /// The engine alone: moto and its changes imported once, forking an
    /// emulator for each caller on the Unix socket, until `--owner` exits.
    /// The test command starts one for all its binaries (they find it by
    /// `DEVSTACK_ENGINE`); anything else starts its own.
    Engine {
        #[arg(long)]
        socket: PathBuf,
        /// The engine ends with this process.
        #[arg(long)]
        owner: u32,
    },
    /// A burst: `--events` UserRegistered put on the bus at once for the
    /// campaigns consumer, then the time until the last effect, each
    /// event's age at the consumer, the peak execution environments per
    /// function with their processes and peak memory, and the last line
    /// `lost: X, duplicated: Y` (exit 1 unless both are 0).
    Burst {
        #[arg(long, default_value_t = 1000)]
        events: usize,
        /// Seconds to wait for the last effect.
        #[arg(long, default_value_t = 600.0)]
        within: f64,
    },
}

#[derive(Args)]
pub struct CampaignArgs {
    /// New users signed up as the campaign's recipients.
    #[arg(long, default_value_t = 100)]
    pub recipients: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// Seconds the campaign may take to be delivered.
    #[arg(long, default_value_t = 300.0)]
    pub within: f64,
    /// The admin who starts it (signed up and made an admin if needed).
    #[arg(long, default_value = "campaign-admin@example.com")]
    pub admin: String,
}

#[derive(Args)]
pub struct UpArgs {
    /// Use this emulator instead of starting one (also AWS_ENDPOINT_URL).
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub endpoint_url: Option<String>,
    /// Gateway port (0 = a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Lambda Invoke API port (0 = a free one).
    #[arg(long, default_value_t = 0)]
    pub lambda_port: u16,
    /// Where the function binaries are.
    #[arg(long)]
    pub bin_dir: Option<PathBuf>,
    /// Run this service's functions from its `sam build` output
    /// (services/<name>/.aws-sam/build) instead: the artifact that ships.
    #[arg(long = "from-sam", value_name = "SERVICE")]
    pub from_sam: Vec<String>,
    /// Web app port (0 = a free one).
    #[arg(long, default_value_t = 0)]
    pub web_port: u16,
    /// Console port (0 = a free one): the service map, the live trail
    /// and the dead letters, on loopback
    #[arg(long, default_value_t = 0)]
    pub console_port: u16,
    /// Put a fault proxy between each function and the emulator, so
    /// `devstack load --chaos` can inject faults (otherwise it only
    /// forwards: one hop more on every AWS call).
    #[arg(long)]
    pub faults: bool,
    /// What becomes of a call IAM would refuse: `strict` refuses it as AWS
    /// does, `audit` lets it through and records it, `off` judges nothing
    /// (every function then holds the emulator's test keys).
    #[arg(long, default_value = "strict", value_parser = parse_iam_mode)]
    pub iam: devstack_cloud::IamMode,
    /// A stack's parameter, as `sam deploy --parameter-overrides` sets it:
    /// `users:ThrottleRateLimit=5`. The stack deploys with it and the
    /// local gateway enforces the throttles it sets. Repeatable.
    #[arg(long = "parameter-override", value_name = "STACK:NAME=VALUE", value_parser = parse_override)]
    pub parameter_overrides: Vec<devstack_cloud::Override>,
    /// The most execution environments (processes) a function runs at
    /// once, as the account's concurrency would allow; a function's
    /// `ReservedConcurrentExecutions` lowers it. Default: twice the cores.
    #[arg(long)]
    pub max_environments: Option<u32>,
    /// Runs a function as on Lambda Managed Instances, N invocations at
    /// once in each environment (`AWS_LAMBDA_MAX_CONCURRENCY`), whatever
    /// its template says: `notifications/ConsumerFunction=8`. Repeatable.
    #[arg(long = "managed-instances", value_name = "FUNCTION=N", value_parser = parse_managed)]
    pub managed_instances: Vec<(String, u32)>,
    /// Deploy every stack into one account (a sandbox), instead of each
    /// team into an account of its own as organisations run AWS (todos
    /// and notifications each in theirs; users and campaigns with the
    /// platform, whose user pool and CloudFront they need).
    #[arg(long)]
    pub one_account: bool,
}

pub fn parse_managed(text: &str) -> Result<(String, u32), String> {
    let usage = "expected FUNCTION=N, e.g. notifications/ConsumerFunction=8";
    let (function, n) = text.split_once('=').ok_or(usage)?;
    let n: u32 = n
        .parse()
        .map_err(|_| format!("{text}: N is not a number; {usage}"))?;
    if !function.contains('/') || n == 0 {
        return Err(format!("{text}: {usage}"));
    }
    Ok((function.to_owned(), n))
}

pub fn parse_iam_mode(text: &str) -> Result<devstack_cloud::IamMode, String> {
    text.parse()
}

pub fn parse_override(text: &str) -> Result<devstack_cloud::Override, String> {
    let usage = "expected STACK:NAME=VALUE, e.g. users:ThrottleRateLimit=5";
    let (stack, assignment) = text.split_once(':').ok_or(usage)?;
    let (parameter, value) = assignment.split_once('=').ok_or(usage)?;
    if !repo::stacks().any(|s| s == stack) {
        let stacks: Vec<&str> = repo::stacks().collect();
        return Err(format!("{stack}: not a stack ({stacks:?})"));
    }
    Ok(devstack_cloud::Override {
        stack: stack.to_owned(),
        parameter: parameter.to_owned(),
        value: value.to_owned(),
    })
}

#[derive(Args)]
pub struct DeployArgs {
    /// A service of the one list (`repo::SERVICES`), e.g. todos.
    pub service: String,
    /// Keep watching the service's sources and redeploy on each change
    /// (the local `sam sync --watch`).
    #[arg(long)]
    pub watch: bool,
    /// Build with the release profile.
    #[arg(long, conflicts_with = "from_sam")]
    pub release: bool,
    /// Deploy the service's `sam build` output as it is.
    #[arg(long)]
    pub from_sam: bool,
    /// The workspace to build (default: the one the current folder is in).
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// How long one of a gradual deployment's minutes lasts here, in
    /// milliseconds (default 1000: the template's minutes as seconds).
    #[arg(long)]
    pub minute_ms: Option<u64>,
}

#[derive(Args)]
pub struct LoadArgs {
    /// Users signed up (a share of them deleted at the end).
    #[arg(long, default_value_t = 10)]
    pub users: usize,
    /// Todos in all, spread over the users (default 100 without
    /// --duration).
    #[arg(long)]
    pub todos: Option<usize>,
    /// Journeys in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Seconds the actions may take (with --todos: whichever first).
    #[arg(long)]
    pub duration: Option<f64>,
    /// Faults while it runs: a share of the functions' AWS calls fail,
    /// processes are killed, one consumer fails for a window. Needs a
    /// cloud started with `devstack up --faults`.
    #[arg(long)]
    pub chaos: bool,
    /// The share of AWS calls that fail, with --chaos.
    #[arg(long, default_value_t = 0.1)]
    pub fault_share: f64,
    /// Seconds between kills, with --chaos.
    #[arg(long, default_value_t = 1.5)]
    pub kill_every: f64,
    /// The consumer that fails every call for a window, with --chaos.
    #[arg(long, default_value = "notifications/ConsumerFunction")]
    pub outage_function: String,
    /// Seconds of that window.
    #[arg(long, default_value_t = 4.0)]
    pub outage: f64,
    /// Seeds the plan and the faults.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Seconds the asynchronous effects may take to show.
    #[arg(long, default_value_t = 60.0)]
    pub settle: f64,
    /// Start a fresh local cloud of its own, with fault proxies, from
    /// the function binaries here (and stop it at the end) instead of
    /// using the running one. `cargo xtask load` does this with
    /// release binaries: the full run.
    #[arg(long)]
    pub bin_dir: Option<PathBuf>,
    /// With --bin-dir: that cloud in one account, instead of `devstack
    /// up`'s team per account.
    #[arg(long, requires = "bin_dir")]
    pub one_account: bool,
}

#[derive(Args)]
pub struct LoopBenchArgs {
    /// Edits of notifications' welcome message, each timed until it is
    /// live behind the alias and a new user's welcome carries it (0: none;
    /// needs `cargo xtask up`).
    #[arg(long, default_value_t = 3)]
    pub edits: usize,
    /// How long a gradual deployment's minute lasts, in milliseconds.
    #[arg(long, default_value_t = 100)]
    pub minute_ms: u64,
    /// A service whose `cargo xtask test <service>` is timed after a
    /// one-line change (repeat for more teams).
    #[arg(long)]
    pub team: Vec<String>,
    /// Time the whole test command on a fresh clone of HEAD (empty
    /// `CARGO_HOME`, its own target, no `.venv`, `CI=true`): about ten
    /// minutes.
    #[arg(long)]
    pub fresh: bool,
    /// Where the fresh clone, its `CARGO_HOME` and target go (default: a
    /// new folder under the system's temporary one); deleted afterwards.
    #[arg(long)]
    pub scratch: Option<PathBuf>,
    /// The workspace to edit and build.
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
}

#[derive(Args)]
pub struct BenchArgs {
    /// Measured rounds.
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    /// Measured end-to-end runs per round.
    #[arg(long, default_value_t = 20)]
    pub runs: usize,
    /// End-to-end runs per round before the measured ones, not counted.
    #[arg(long, default_value_t = 3)]
    pub warmup: usize,
    /// Where the function binaries are.
    #[arg(long)]
    pub bin_dir: Option<PathBuf>,
    /// Where the JSON report goes (and `latest.json` beside it).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// A report of an earlier run: prints the change of each median.
    #[arg(long)]
    pub compare: Option<PathBuf>,
    /// How the local cloud judges AWS calls in each round (`devstack up
    /// --iam`): comparing `strict` with `off` gives the judgement's cost.
    #[arg(long, default_value = "strict", value_parser = parse_iam_mode)]
    pub iam: devstack_cloud::IamMode,
    /// Run one round in this process and write its figures here (the
    /// bench runs itself so for each round).
    #[arg(long, hide = true)]
    pub one_round: Option<PathBuf>,
    /// Each round's cloud in one account, instead of `devstack up`'s
    /// team per account.
    #[arg(long)]
    pub one_account: bool,
}
