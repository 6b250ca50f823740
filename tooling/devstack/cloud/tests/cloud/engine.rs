//! The local cloud's engine across clouds: a cloud whose templates match
//! a state an earlier cloud kept is a fork of it (nothing deployed
//! again), yet its own from then on; a changed parameter of any stack,
//! the web stack's included, deploys afresh.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use devstack_cloud::{self as cloud, Detached, Options};

fn options(overrides: Vec<cloud::Override>) -> Options {
    Options {
        bin_dir: repo::profile_dir(),
        retry_delay: Duration::from_millis(20),
        function_env: vec![("RUST_LOG".into(), "warn".into())],
        services: Some(["todos".to_owned()].into()),
        parameter_overrides: overrides,
        ..Options::default()
    }
}

async fn has_item(cloud: &Detached, table: &str, pk: &str) -> bool {
    let conf = kit::config::endpoint(cloud.endpoints.emulator_url.as_str()).await;
    aws_sdk_dynamodb::Client::new(&conf)
        .get_item()
        .table_name(table)
        .key("pk", AttributeValue::S(pk.into()))
        .key("sk", AttributeValue::S("kept".into()))
        .send()
        .await
        .unwrap()
        .item
        .is_some()
}

#[tokio::test]
async fn unchanged_templates_start_from_the_kept_state_and_a_changed_parameter_deploys_afresh() {
    let start = |o| cloud::start_detached(o).expect("the local cloud starts");
    let first = start(options(Vec::new()));
    let second = start(options(Vec::new()));
    assert!(second.from_kept_state, "the same templates deployed again");
    let table = first.endpoints.services["todos"].table.as_str().to_owned();
    assert_eq!(second.endpoints.services["todos"].table.as_str(), table);
    assert_ne!(second.endpoints.emulator_url, first.endpoints.emulator_url);

    // Forked, not shared: a write in one is not in the other.
    let conf = kit::config::endpoint(first.endpoints.emulator_url.as_str()).await;
    let pk = format!("kept-{}", uuid::Uuid::new_v4().simple());
    aws_sdk_dynamodb::Client::new(&conf)
        .put_item()
        .table_name(&table)
        .item("pk", AttributeValue::S(pk.clone()))
        .item("sk", AttributeValue::S("kept".into()))
        .send()
        .await
        .unwrap();
    assert!(has_item(&first, &table, &pk).await);
    assert!(
        !has_item(&second, &table, &pk).await,
        "the second sees the first's write"
    );

    // Another value of one parameter is another deployed state.
    let changed = vec![cloud::Override {
        stack: "todos".into(),
        parameter: "ThrottleBurstLimit".into(),
        value: "41".into(),
    }];
    let third = start(options(changed));
    assert!(
        !third.from_kept_state,
        "a changed parameter started from the kept state"
    );
    drop(third);

    // The web stack is in the kept state too, so its template is in the key.
    let web = vec![cloud::Override {
        stack: "web".into(),
        parameter: "AccessLogRetentionDays".into(),
        value: "30".into(),
    }];
    let fourth = start(options(web));
    assert!(
        !fourth.from_kept_state,
        "a changed web stack parameter started from the kept state"
    );
}
