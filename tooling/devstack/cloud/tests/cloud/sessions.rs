//! Sessions STS issues to a function's own AssumeRole, judged as the ones
//! the local cloud issues: the campaigns team, in an account of its own,
//! invalidates its pages in the platform's CloudFront distribution as the
//! web stack's role it assumes. A trust policy that does not admit the
//! call refuses it; a session past its expiry, and a key STS never
//! issued, are refused as AWS refuses them.

use std::path::PathBuf;
use std::time::Duration;

use devstack_api::telemetry::{Judgement, read_judgements};
use devstack_client::walkthrough::eventually;
use devstack_cloud::{self as cloud, Detached, Options};
use reqwest::Method;
use serde_json::json;

const CAMPAIGNS: &str = "444444444444";
const PAGE_CACHE: &str = "campaigns/PageCacheFunction";
const SITE_ROLE: &str = "web-campaign-pages";

/// campaigns in its own account, its page cache's sessions lasting
/// `session_minute` a minute, the web stack from `web` (its own template
/// when none).
fn start(session_minute: Duration, web: Option<PathBuf>) -> Detached {
    cloud::start_detached(Options {
        bin_dir: repo::profile_dir(),
        retry_delay: Duration::from_millis(20),
        function_env: vec![("RUST_LOG".into(), "warn".into())],
        services: Some(["campaigns".to_owned()].into()),
        accounts: [("campaigns".to_owned(), CAMPAIGNS.to_owned())].into(),
        templates: web.map(|w| (repo::WEB.to_owned(), w)).into_iter().collect(),
        session_minute,
        ..Options::default()
    })
    .expect("the local cloud starts")
}

/// A campaign started by an admin: its record changes as its flow runs,
/// and each change makes its page stale.
async fn start_a_campaign(cloud: &Detached) {
    let admin = crate::strict::admin(cloud).await;
    let body = json!({"subject": "Pages", "body": "Kept, then invalidated."});
    let (status, started) = admin
        .call(Method::POST, "/campaigns", Some(body))
        .await
        .unwrap();
    assert_eq!(status, 202, "{started}");
}

/// The page cache's judgements so far (its own role's and the role it
/// assumed).
fn page_cache(cloud: &Detached) -> Vec<Judgement> {
    read_judgements(&PathBuf::from(&cloud.endpoints.telemetry_dir))
        .into_iter()
        .filter(|j| j.function.starts_with(PAGE_CACHE))
        .collect()
}

/// Waits for the page cache's first judgement that `wanted` picks.
async fn judged(cloud: &Detached, what: &str, wanted: impl Fn(&Judgement) -> bool) -> Judgement {
    eventually(Duration::from_secs(60), what, || async {
        Ok(page_cache(cloud).into_iter().find(|j| wanted(j)))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}: {:#?}", page_cache(cloud)))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_team_invalidates_the_platforms_pages_as_the_role_it_assumes_there() {
    let cloud = start(Duration::from_secs(60), None);
    start_a_campaign(&cloud).await;
    let assumed = format!("{PAGE_CACHE} as {SITE_ROLE}");
    let invalidated = judged(
        &cloud,
        "the page cache to invalidate as the site's role",
        |j| j.function == assumed && j.action == "cloudfront:CreateInvalidation",
    )
    .await;
    assert_eq!(invalidated.verdict, "allowed", "{invalidated:?}");
    assert!(
        (invalidated.resource).starts_with(&format!(
            "arn:aws:cloudfront::{}:",
            kit::config::LOCAL_ACCOUNT
        )),
        "the platform's distribution: {invalidated:?}"
    );
    let all = page_cache(&cloud);
    let assume = all
        .iter()
        .find(|j| j.action == "sts:AssumeRole")
        .expect("the role was assumed");
    assert_eq!(assume.function, PAGE_CACHE);
    assert_eq!(assume.verdict, "allowed", "{assume:?}");
    assert!(
        assume.resource.starts_with(&format!(
            "arn:aws:iam::{}:role/{SITE_ROLE}",
            kit::config::LOCAL_ACCOUNT
        )),
        "{assume:?}"
    );
    assert!(
        all.iter().all(|j| j.verdict == "allowed"),
        "nothing refused: {all:#?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trust_policy_that_wants_an_external_id_refuses_a_call_without_one() {
    // The site's role also wants the external id a third party would be
    // given; the page cache sends none, so STS refuses it the session.
    let (_dir, web) = crate::strict::mistaken(
        repo::WEB,
        "            Condition:\n              ArnLike:\n",
        "            Condition:\n              StringEquals: { sts:ExternalId: a-secret-the-team-lacks }\n              ArnLike:\n",
    );
    let cloud = start(Duration::from_secs(60), Some(web));
    start_a_campaign(&cloud).await;
    let refused = judged(&cloud, "the page cache's AssumeRole to be judged", |j| {
        j.action == "sts:AssumeRole"
    })
    .await;
    assert_eq!(refused.verdict, "denied", "{refused:?}");
    assert!(refused.reason.contains("resource-based"), "{refused:?}");
    assert!(
        !page_cache(&cloud)
            .iter()
            .any(|j| j.action == "cloudfront:CreateInvalidation" && j.verdict == "allowed"),
        "no page was invalidated"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_past_its_expiry_and_a_key_sts_never_issued_are_refused() {
    // Sessions end as they begin: the assumed session's first call is
    // already past its end.
    let cloud = start(Duration::ZERO, None);
    start_a_campaign(&cloud).await;
    let expired = judged(&cloud, "the assumed session's call to be refused", |j| {
        j.reason.starts_with("ExpiredToken")
    })
    .await;
    assert_eq!(expired.function, format!("{PAGE_CACHE} as {SITE_ROLE}"));
    assert!(
        !page_cache(&cloud)
            .iter()
            .any(|j| j.action == "cloudfront:CreateInvalidation"),
        "no call of the expired session reached a verdict"
    );

    // Keys shaped as STS's, which it never issued: refused as unknown.
    let forged = aws_credential_types::Credentials::new(
        "ASIAFORGEDFORGEDFORG", // pragma: allowlist secret
        "forged-secret",
        Some("forged-token".into()),
        None,
        "forged",
    );
    let conf = kit::config::endpoint(&cloud.endpoints.emulator_url)
        .await
        .to_builder()
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(forged),
        )
        .endpoint_url(cloud.endpoints.s3_url.as_str())
        .build();
    let answer = aws_sdk_sqs::Client::new(&conf).list_queues().send().await;
    let code = answer
        .err()
        .and_then(|e| e.into_service_error().meta().code().map(str::to_owned));
    assert_eq!(code.as_deref(), Some("UnrecognizedClientException"));
}
