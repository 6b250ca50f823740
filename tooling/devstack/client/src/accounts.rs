//! A running local cloud's accounts, reached as an organisation's
//! administrator reaches a member account: the emulator's own keys hold
//! the platform's account, and a team in an account of its own is
//! reached by assuming its access role there.

use aws_config::SdkConfig;
use devstack_api::Endpoints;

/// The administrator of the account that holds `service`.
pub async fn administrator(endpoints: &Endpoints, service: &str) -> SdkConfig {
    let base = kit::config::endpoint(&endpoints.emulator_url).await;
    match endpoints.access_role(service) {
        Some(role) => ops::targets::assume(&base, &role).await,
        None => base,
    }
}
