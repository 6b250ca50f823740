//! Configuration read once per process, failing fast with the variable's name.

pub use aws_config::SdkConfig;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {message}")]
    Invalid { name: &'static str, message: String },
}

/// A required environment variable.
pub fn var(name: &'static str) -> Result<String, ConfigError> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or(ConfigError::Missing(name))
}

/// An optional numeric variable with a default.
pub fn number(name: &'static str, default: usize) -> Result<usize, ConfigError> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => {
            v.parse()
                .map_err(|e: std::num::ParseIntError| ConfigError::Invalid {
                    name,
                    message: e.to_string(),
                })
        }
        _ => Ok(default),
    }
}

/// The SDK configuration for a command run by a person (`ops`, a
/// snapshot): the standard chain, profiles, SSO and roles included, so
/// `AWS_ENDPOINT_URL` points every client at the emulator and its absence
/// means real AWS.
pub async fn aws() -> SdkConfig {
    aws_config::from_env().http_client(https()).load().await
}

/// The region a local endpoint (the emulator) answers in.
pub const LOCAL_REGION: &str = "us-east-1";

/// The account a local endpoint (the emulator) answers for: moto's default.
pub const LOCAL_ACCOUNT: &str = "123456789012";

/// The SDK configuration for a tool driving one endpoint that is not AWS
/// (the local cloud's emulator, a LocalStack): its URL, [`LOCAL_REGION`]
/// and the emulator's usual `test` keys, whatever the environment says.
/// Written once for every tool and test that reads an endpoints file;
/// never used inside a function.
pub async fn endpoint(url: &str) -> SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(https())
        .endpoint_url(url)
        .region(aws_config::Region::new(LOCAL_REGION))
        .credentials_provider(aws_credential_types::Credentials::new(
            "test", "test", None, None, "emulator",
        ))
        .load()
        .await
}

/// The SDK configuration inside a function: only what Lambda provides.
/// Lambda hands a function its role's credentials and its region in the
/// environment, so the standard chain's other providers (profiles, SSO,
/// web identity through STS, IMDS, containers) are never used there, yet
/// cost the STS client and their parsers in every binary (docs/deploying.md,
/// "Artifact size"). `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>`
/// are honoured as by the chain, so the local cloud works the same.
pub fn lambda() -> SdkConfig {
    let region = ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .into_iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()));
    let mut builder = SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(region.map(aws_config::Region::new))
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(
                aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
            ),
        )
        .http_client(crate::call_time::counted(aws_https()))
        .service_config(EndpointsFromEnv);
    if let Some(url) = std::env::var("AWS_ENDPOINT_URL")
        .ok()
        .filter(|v| !v.is_empty())
    {
        builder = builder.endpoint_url(url);
    }
    builder.build()
}

/// A service's own endpoint variable (`AWS_ENDPOINT_URL_EVENTBRIDGE`), as
/// the standard chain reads it: the service id in capitals, spaces as `_`.
#[derive(Debug)]
struct EndpointsFromEnv;

impl aws_types::service_config::LoadServiceConfig for EndpointsFromEnv {
    fn load_config(&self, key: aws_types::service_config::ServiceConfigKey<'_>) -> Option<String> {
        let service = key.service_id().to_ascii_uppercase().replace(' ', "_");
        [format!("{}_{service}", key.env()), key.env().to_owned()]
            .into_iter()
            .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }
}

/// The HTTPS client for a person's tools ([`aws`]): trusting the system's
/// store, as a machine behind an inspecting proxy needs.
pub fn https() -> aws_sdk_dynamodb::config::SharedHttpClient {
    crate::transport::client(crate::transport::Roots::System)
}

/// The HTTPS client inside a function ([`crate::transport`]), trusting only
/// the roots AWS endpoints chain to (Amazon Trust Services, and the
/// Starfield root cross-signing them), compiled in: the system's store is
/// about 140 certificates to read and parse before a function's first
/// call, most of its cold own time (docs/observability.md, "What each function costs"),
/// and none of them but these ever signs for AWS. Calls to third parties
/// go through [`crate::outbound`], which trusts the system's store.
pub fn aws_https() -> aws_sdk_dynamodb::config::SharedHttpClient {
    crate::transport::client(crate::transport::Roots::Aws)
}

/// Clients built on first use rather than before the runtime loop: loading
/// the SDK configuration reads the system's root certificates, which is
/// most of a cold start's init time, and a function's first invocation can
/// pay it instead. Configuration values are still read (and checked) at
/// start, so a missing variable fails fast.
pub struct Lazy<T> {
    cell: tokio::sync::OnceCell<T>,
    make: Box<dyn Fn(&SdkConfig) -> T + Send + Sync>,
    /// The role the clients act as, and the session's name, when not the
    /// function's own ([`as_role`]).
    role: Option<(String, String)>,
}

impl<T> Lazy<T> {
    pub fn new(make: impl Fn(&SdkConfig) -> T + Send + Sync + 'static) -> Self {
        Self {
            cell: tokio::sync::OnceCell::new(),
            make: Box::new(make),
            role: None,
        }
    }

    /// The same clients acting as `role_arn` (none: as the function's
    /// own role), in sessions named `session`.
    pub fn as_role(mut self, role_arn: Option<String>, session: &str) -> Self {
        self.role = role_arn.map(|arn| (arn, session.to_owned()));
        self
    }

    pub async fn get(&self) -> &T {
        self.cell
            .get_or_init(|| async {
                let conf = lambda();
                match &self.role {
                    Some((arn, session)) => (self.make)(&as_role(&conf, arn, session).await),
                    None => (self.make)(&conf),
                }
            })
            .await
    }
}

/// `conf` acting as the role `role_arn` (another account's, which trusts
/// this function's role): STS's sessions of it, taken on first use and
/// renewed before they expire.
pub async fn as_role(conf: &SdkConfig, role_arn: &str, session: &str) -> SdkConfig {
    // STS's client and the sessions' cache keep time and sleep: a
    // function's own configuration (`lambda`) names neither.
    let conf = conf
        .to_builder()
        .time_source(aws_smithy_async::time::SystemTimeSource::new())
        .sleep_impl(aws_smithy_async::rt::sleep::TokioSleep::new())
        .build();
    let provider = aws_config::sts::AssumeRoleProvider::builder(role_arn)
        .session_name(session)
        .configure(&conf)
        .build()
        .await;
    conf.to_builder()
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(provider),
        )
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_services_own_endpoint_variable_wins_over_the_general_one() {
        use aws_types::service_config::{LoadServiceConfig, ServiceConfigKey};
        let key = |service| {
            ServiceConfigKey::builder()
                .service_id(service)
                .env("AWS_ENDPOINT_URL")
                .profile("endpoint_url")
                .build()
                .unwrap()
        };
        // SAFETY: this test alone in the crate reads or writes these.
        unsafe {
            std::env::set_var("AWS_ENDPOINT_URL", "http://general");
            std::env::set_var("AWS_ENDPOINT_URL_EVENTBRIDGE", "http://bus");
            std::env::set_var("AWS_ENDPOINT_URL_SECRETS_MANAGER", "http://secrets");
        }
        assert_eq!(
            EndpointsFromEnv.load_config(key("EventBridge")).as_deref(),
            Some("http://bus")
        );
        assert_eq!(
            EndpointsFromEnv
                .load_config(key("Secrets Manager"))
                .as_deref(),
            Some("http://secrets")
        );
        assert_eq!(
            EndpointsFromEnv.load_config(key("DynamoDB")).as_deref(),
            Some("http://general")
        );
        unsafe {
            std::env::remove_var("AWS_ENDPOINT_URL");
            std::env::remove_var("AWS_ENDPOINT_URL_EVENTBRIDGE");
            std::env::remove_var("AWS_ENDPOINT_URL_SECRETS_MANAGER");
        }
    }
}
