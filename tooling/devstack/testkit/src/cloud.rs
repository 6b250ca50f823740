//! The local cloud a test binary keeps, and what talks to it.

use std::sync::OnceLock;

/// What a test's own local cloud starts with unless the test says
/// otherwise (its fields before `..test_cloud()`): the debug binaries,
/// failed asynchronous work retried after 20 ms rather than AWS's minutes,
/// and functions that log only warnings, so a failing test's tail of
/// their logs is short.
pub fn test_cloud() -> devstack_cloud::Options {
    devstack_cloud::Options {
        bin_dir: repo::profile_dir(),
        retry_delay: std::time::Duration::from_millis(20),
        function_env: vec![("RUST_LOG".into(), "warn".into())],
        // As `cargo xtask up` runs it: a team per account.
        accounts: devstack_cloud::accounts::per_team(),
        ..devstack_cloud::Options::default()
    }
}

/// A local cloud kept for the whole test binary, started on first use. A
/// module that needs options of its own keeps one in a cell of its own;
/// the rest share [`cloud`].
pub fn kept_cloud(
    cell: &'static OnceLock<devstack_cloud::Detached>,
    options: impl FnOnce() -> devstack_cloud::Options,
) -> &'static devstack_cloud::Detached {
    cell.get_or_init(|| {
        let options = options();
        assert!(
            options.bin_dir.join("todos").exists(),
            "the function binaries are not built: run `cargo build --workspace --bins` (the test command does)"
        );
        devstack_cloud::start_detached(options).expect("the local cloud starts")
    })
}

/// The cloud the cross-service tests share, with [`test_cloud`]'s options.
pub fn cloud() -> &'static devstack_cloud::Detached {
    static CLOUD: OnceLock<devstack_cloud::Detached> = OnceLock::new();
    kept_cloud(&CLOUD, test_cloud)
}

/// The SDK configuration for a cloud's emulator.
pub async fn sdk_for(cloud: &devstack_cloud::Detached) -> aws_config::SdkConfig {
    kit::config::endpoint(&cloud.endpoints.emulator_url).await
}

/// The SDK configuration for the shared cloud's emulator.
pub async fn sdk() -> aws_config::SdkConfig {
    sdk_for(cloud()).await
}

/// The administrator of the account that holds `service` on `cloud`
/// (the platform's keys for the platform and the stacks beside it).
pub async fn sdk_of(cloud: &devstack_cloud::Detached, service: &str) -> aws_config::SdkConfig {
    ops::targets::administrator(&cloud.endpoints, service).await
}

/// [`sdk_of`] the shared cloud.
pub async fn sdk_in(service: &str) -> aws_config::SdkConfig {
    sdk_of(cloud(), service).await
}

/// An address no other test signs up with.
pub fn unique_email(tag: &str) -> String {
    format!(
        "{tag}-{}@example.com",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}

/// A signed-in API client of `cloud`: signed up first if need be.
pub async fn client_for(
    cloud: &devstack_cloud::Detached,
    email: &str,
) -> devstack_client::walkthrough::Client {
    devstack_client::walkthrough::Client {
        http: reqwest::Client::new(),
        base: cloud.endpoints.api_base_url.clone(),
        token: devstack_client::walkthrough::token_for(&cloud.endpoints, email)
            .await
            .unwrap(),
    }
}

/// A signed-in API client of the shared cloud.
pub async fn client(email: &str) -> devstack_client::walkthrough::Client {
    client_for(cloud(), email).await
}
