//! Which account holds each stack, and the administrator's configuration
//! in each. The platform (the bus, the user pool, the web hosting) is in
//! the local cloud's own account; a team whose account is named deploys
//! its stack there and is reached as an organisation's administrator
//! reaches a member account ([`crate::iam::administrator`]).

use std::collections::BTreeMap;

use anyhow::Result;
use aws_config::SdkConfig;

/// The layout `devstack up` plays by default: a team per account, as
/// organisations run AWS. users stays with the platform (ARCHITECTURE.md,
/// "A team per account"): its user pool calls its triggers and only the
/// pool's own account may delete a user. campaigns invalidates its pages
/// in the platform's CloudFront distribution through a role of the web
/// stack's it assumes (CloudFront has no resource policy).
pub const PER_TEAM: [(&str, &str); 3] = [
    ("todos", "222222222222"),
    ("notifications", "333333333333"),
    ("campaigns", "444444444444"),
];

/// [`PER_TEAM`] as the options name it: service → account.
pub fn per_team() -> BTreeMap<String, String> {
    (PER_TEAM.iter())
        .map(|(s, a)| ((*s).to_owned(), (*a).to_owned()))
        .collect()
}

/// The layout a command plays: [`per_team`], or one account (a sandbox)
/// when asked.
pub fn layout(one_account: bool) -> BTreeMap<String, String> {
    match one_account {
        true => BTreeMap::new(),
        false => per_team(),
    }
}

/// The parameters that place each team, by stack: the platform's
/// `<Team>Account` (its bus policy lets that account in) and each placed
/// service's `PlatformAccount` (its bus is in another account) and empty
/// `ApiDomainName` (the platform's API host maps only its own account's
/// APIs, [`crate::custom_domain::mapped_in_its_account`]); the web
/// stack's `CampaignsAccount` (its role for the campaigns team's page
/// cache). Nothing when every stack shares the platform's account.
pub fn parameters(placed: &BTreeMap<String, String>, stack: &str) -> Vec<(String, String)> {
    if stack == repo::PLATFORM {
        return (placed.iter())
            .map(|(service, account)| (repo::account_parameter(service), account.clone()))
            .collect();
    }
    if stack == repo::WEB {
        return (placed.get("campaigns").into_iter())
            .map(|account| (repo::account_parameter("campaigns"), account.clone()))
            .collect();
    }
    match placed.contains_key(stack) {
        true => vec![
            (
                repo::PLATFORM_ACCOUNT.to_owned(),
                kit::config::LOCAL_ACCOUNT.to_owned(),
            ),
            (
                crate::custom_domain::API_DOMAIN_PARAMETER.to_owned(),
                String::new(),
            ),
        ],
        false => Vec::new(),
    }
}

/// Each stack's account and its administrator's configuration.
#[derive(Clone)]
pub struct Accounts {
    platform: SdkConfig,
    placed: BTreeMap<String, String>,
    teams: BTreeMap<String, (String, SdkConfig)>,
}

impl Accounts {
    /// `platform`: the local cloud's administrator; `placed`: service →
    /// account, for the teams not in the platform's account.
    pub async fn reach(platform: &SdkConfig, placed: &BTreeMap<String, String>) -> Result<Self> {
        let mut teams = BTreeMap::new();
        for (service, account) in placed {
            let conf = crate::iam::administrator(platform, account).await?;
            teams.insert(service.clone(), (account.clone(), conf));
        }
        Ok(Self {
            platform: platform.clone(),
            placed: placed.clone(),
            teams,
        })
    }

    /// The administrator's configuration in the account that holds
    /// `stack`.
    pub fn conf(&self, stack: &str) -> &SdkConfig {
        self.teams.get(stack).map_or(&self.platform, |(_, c)| c)
    }

    /// The account that holds `stack`.
    pub fn account(&self, stack: &str) -> &str {
        (self.teams.get(stack)).map_or(kit::config::LOCAL_ACCOUNT, |(a, _)| a)
    }

    /// The parameters that place `stack` ([`parameters`]): every deploy
    /// of it passes them, as a team's pipeline passes its own.
    pub fn parameters(&self, stack: &str) -> Vec<(String, String)> {
        parameters(&self.placed, stack)
    }

    pub fn platform(&self) -> &SdkConfig {
        &self.platform
    }
}
