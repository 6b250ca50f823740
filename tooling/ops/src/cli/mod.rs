//! The `ops` command line, as clap defines it, with one module per command
//! holding its arguments and its body (as cargo-lambda keeps a crate per
//! command): `dlq`, `events`, `secrets`, `stacks`, `web_config`. Here: the
//! flags every command takes and where they point (the local cloud or
//! AWS). In the library so that a test reads [`Cli`] to keep the docs
//! true; `main.rs` only parses and calls [`run`].

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::OnceLock;

use anyhow::Result;
use clap::{Parser, Subcommand};

use crate::targets::{self, Targets};

mod dlq;
mod events;
mod secrets;
mod stacks;
mod web_config;

#[derive(Parser)]
#[command(
    name = "ops",
    version,
    about = "Operate the services: dead letters first"
)]
pub struct Cli {
    /// The local cloud's endpoints file (default: .local/endpoints.json when
    /// it exists, else the deployed stacks on AWS).
    #[arg(long, global = true)]
    endpoints_file: Option<PathBuf>,
    /// The platform stack's name (AWS discovery).
    #[arg(long, global = true, default_value = repo::PLATFORM)]
    platform_stack: String,
    /// The service stacks (AWS discovery).
    #[arg(
        long,
        global = true,
        value_delimiter = ',',
        default_value = default_stacks()
    )]
    stacks: Vec<String>,
    /// `<stack>=<role ARN>`: reach that stack's account by assuming the
    /// role, as an operator reaches another account of the organisation
    /// (the platform stack's name for the bus and its archive). Repeatable,
    /// or space-separated in OPS_ROLES; a stack without one is reached
    /// with the caller's own credentials.
    #[arg(long = "role", global = true, env = "OPS_ROLES", value_delimiter = ' ')]
    roles: Vec<String>,
    /// Machine-readable output.
    #[arg(long, global = true)]
    json: bool,
    /// How long a tap (tail, dry run) outlives its last renewal when its
    /// process is killed; the next run sweeps it after that.
    #[arg(long, global = true, default_value_t = 120, hide = true)]
    tap_lease_seconds: u64,
    #[command(subcommand)]
    command: Top,
}

impl Cli {
    /// Each stack `--role` names, with its role. Read here rather than by
    /// clap, whose refusal would print the value: a secret's text.
    fn roles(&self) -> Result<Vec<(String, String)>, targets::RoleError> {
        let parsed: Result<Vec<_>, _> = self.roles.iter().map(|r| targets::parse_role(r)).collect();
        Ok(parsed?.into_iter().flatten().collect())
    }
}

/// `repo::SERVICES` written as `--stacks` takes them: one comma-separated
/// value, so that the help shows the default as one would type it
/// (`default_values_t` would show it space-separated).
fn default_stacks() -> &'static str {
    static JOINED: OnceLock<String> = OnceLock::new();
    JOINED.get_or_init(|| repo::SERVICES.join(","))
}

#[derive(Subcommand)]
pub(crate) enum Top {
    /// Dead-letter queues: one per service, fed by SNS.
    Dlq {
        #[command(subcommand)]
        command: dlq::Dlq,
    },
    /// The deployed stacks and the commit each was built from (their
    /// `service` and `commit` tags): what can-i-deploy compares against.
    Stacks,
    /// Store a secret a stack reads by name (CloudFormation cannot create
    /// an SSM SecureString); the value is read from stdin. Run it again to
    /// rotate: the functions pick the new value up without a deploy.
    Secrets {
        #[command(subcommand)]
        command: secrets::Secrets,
    },
    /// The bus: replay its archive to chosen rules, watch it live.
    Events {
        #[command(subcommand)]
        command: events::Events,
    },
    /// Print the web app's config.json for the deployed stacks (user pool,
    /// HTTP APIs, WebSocket API), to upload beside the app.
    WebConfig {
        /// The platform stack's name.
        #[arg(long, default_value = repo::PLATFORM)]
        platform: String,
    },
}

/// Runs the command the arguments name.
pub async fn run(cli: Cli) -> Result<ExitCode> {
    match &cli.command {
        Top::Stacks => stacks::run(&cli).await,
        Top::WebConfig { platform } => web_config::run(&cli, platform).await,
        Top::Dlq { command } => dlq::run(&cli, command).await,
        Top::Secrets { command } => secrets::run(&cli, command).await,
        Top::Events { command } => events::run(&cli, command).await,
    }
}

/// The local cloud's endpoints file to work on: `--endpoints-file`, else
/// `.local/endpoints.json` when it exists and `AWS_ENDPOINT_URL` is unset;
/// `None` means AWS.
fn endpoints_file(cli: &Cli) -> Option<PathBuf> {
    let local = PathBuf::from(".local/endpoints.json");
    match &cli.endpoints_file {
        Some(f) => Some(f.clone()),
        None if local.exists() && std::env::var_os("AWS_ENDPOINT_URL").is_none() => Some(local),
        None => None,
    }
}

async fn discover(cli: &Cli) -> Result<Targets> {
    let roles = cli.roles()?.into_iter().collect();
    match endpoints_file(cli) {
        Some(f) => {
            let t = targets::from_endpoints_file(&f).await?;
            Ok(targets::with_roles(t, &cli.platform_stack, &roles).await)
        }
        None => {
            targets::from_cloudformation(
                kit::config::aws().await,
                &cli.platform_stack,
                &cli.stacks,
                &roles,
            )
            .await
        }
    }
}

fn or_dash(v: &Option<impl ToString>) -> String {
    v.as_ref()
        .map_or_else(|| "-".to_owned(), ToString::to_string)
}

/// Every account a team's stacks may be in, as (whose, configuration):
/// the caller's own first (where the stacks are: the local cloud's
/// emulator, or AWS), then each account a `--role` reaches, and on the
/// local cloud each team's own account (its organisation access role).
async fn every_account(cli: &Cli) -> Result<Vec<(String, aws_config::SdkConfig)>> {
    let mut roles = cli.roles()?;
    let conf = match endpoints_file(cli) {
        Some(file) => {
            let (endpoints, conf) = targets::local_cloud(&file).await?;
            roles.extend(
                (endpoints.services.keys())
                    .filter_map(|s| Some((s.clone(), endpoints.access_role(s)?))),
            );
            conf
        }
        None => kit::config::aws().await,
    };
    let mut reached = Vec::new();
    for (stack, role) in roles {
        reached.push((
            format!("{stack}'s role"),
            targets::assume(&conf, &role).await,
        ));
    }
    reached.insert(0, ("the caller".to_owned(), conf));
    Ok(reached)
}

/// The SDK configuration for where the stacks are: the local cloud's
/// emulator, or AWS.
async fn sdk(cli: &Cli) -> Result<aws_config::SdkConfig> {
    Ok(match endpoints_file(cli) {
        Some(f) => targets::local_cloud(&f).await?.1,
        None => kit::config::aws().await,
    })
}

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM).
async fn interrupted() {
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
    match term {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            tokio::signal::ctrl_c().await.ok();
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn a_role_names_its_stack_and_an_iam_role() {
        let cli = Cli::try_parse_from([
            "ops",
            "--role",
            "todos=arn:aws:iam::222222222222:role/Operator",
            "stacks",
        ])
        .unwrap();
        assert_eq!(
            cli.roles().unwrap(),
            [(
                "todos".to_owned(),
                "arn:aws:iam::222222222222:role/Operator".to_owned()
            )]
        );
        for bad in [
            "todos",
            "=arn:aws:iam::1:role/x",
            "todos=arn:aws:s3:::bucket",
        ] {
            let cli = Cli::try_parse_from(["ops", "--role", bad, "stacks"]).unwrap();
            assert!(cli.roles().is_err(), "{bad} was taken");
        }
    }

    #[test]
    fn roles_may_be_space_separated_in_one_value_or_empty() {
        // As OPS_ROLES gives them: one value, split on spaces.
        let parsed = |value: &str| {
            let cli = Cli::try_parse_from(["ops", "--role", value, "stacks"]).unwrap();
            cli.roles()
        };
        let roles = parsed("todos=arn:aws:iam::2:role/R users=arn:aws:iam::3:role/R").unwrap();
        let stacks: Vec<&str> = roles.iter().map(|(s, _)| s.as_str()).collect();
        assert_eq!(stacks, ["todos", "users"]);
        // A workflow whose secret is unset passes it empty: no role.
        assert_eq!(parsed("").unwrap(), []);
        assert_eq!(parsed(" \n").unwrap(), []);
    }

    #[test]
    fn a_refused_role_names_its_stack_and_not_the_role() {
        let cli = Cli::try_parse_from([
            "ops",
            "--role",
            "todos=arn:aws:s3:::secret-bucket",
            "stacks",
        ]);
        let said = cli.unwrap().roles().unwrap_err().to_string();
        assert!(
            said.contains("todos") && !said.contains("secret-bucket"),
            "{said}"
        );
    }

    #[test]
    fn discovery_defaults_to_the_repository_s_stacks() {
        let cli = Cli::try_parse_from(["ops", "stacks"]).unwrap();
        assert_eq!(cli.platform_stack, repo::PLATFORM);
        assert_eq!(cli.stacks, repo::SERVICES);
    }
}
