//! The real templates deploy to the emulator: the platform first, then
//! each service stack on its own, adapted by `devstack::adapt`.

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use devstack_cloud::deploy::{Deployed, apply, create_stack};
use devstack_template::adapt::adapt;
use repo::{PLATFORM, SERVICES, template_path};
use serde_json::Value;

async fn receive(sqs: &aws_sdk_sqs::Client, url: &str) -> Vec<Value> {
    let got = sqs
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .unwrap();
    got.messages()
        .iter()
        .map(|m| serde_json::from_str(m.body().unwrap()).unwrap())
        .collect()
}

#[tokio::test]
async fn the_platform_then_each_service_deploys_alone_and_is_wired() {
    // A server of its own: stack and bus names are fixed by the templates.
    let emulator = devstack_emulator::start().unwrap();
    let conf = emulator.sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&conf);

    let platform = devstack_template::load(&template_path(PLATFORM)).unwrap();
    let (mut adapted, plan) = adapt(PLATFORM, &platform).unwrap();
    assert_eq!(plan.user_pools.len(), 1, "the user pool is made by API");
    // Its ids are exported as on AWS, once the pool exists.
    devstack_template::adapt::bind_user_pool(
        &mut adapted,
        &plan.user_pools[0],
        "us-east-1_pool",
        "client",
    );
    let deployed_platform = create_stack(&conf, PLATFORM, &adapted, &[]).await.unwrap();
    let deployed = &deployed_platform;
    assert_eq!(deployed.outputs["BusName"], "app-bus");
    assert_eq!(deployed.outputs["UserPoolClientId"], "client");
    assert_eq!(
        deployed.outputs["Issuer"],
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_pool"
    );

    let mut stacks: Vec<(String, Deployed, devstack_template::adapt::Plan)> = Vec::new();
    for service in SERVICES {
        let template = devstack_template::load(&template_path(service)).unwrap();
        let (adapted, plan) = adapt(service, &template).unwrap();
        for f in &plan.functions {
            // One binary per service; the function's Handler picks its module.
            assert_eq!(f.binary, *service, "{service}/{}: its binary", f.logical_id);
            let handler = template["Resources"][&f.logical_id]["Properties"]["Handler"]
                .as_str()
                .unwrap_or_else(|| panic!("{service}/{}: no Handler", f.logical_id));
            let module = handler.replace('-', "_");
            let source = repo::root().join(format!("services/{service}/src/functions/{module}.rs"));
            assert!(
                source.exists(),
                "{service}/{}: no function {handler} in its binary",
                f.logical_id
            );
        }
        assert!(
            !plan.routes.is_empty() && !plan.streams.is_empty(),
            "{service}: API and stream publisher"
        );
        // What the stack takes from the platform, as its deploy passes it:
        // the platform's outputs of the names it declares.
        let from_platform: Vec<(&str, &str)> = (deployed_platform.outputs.iter())
            .filter(|(k, _)| template["Parameters"].get(k.as_str()).is_some())
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert!(
            from_platform.iter().any(|(k, _)| *k == "Issuer"),
            "{service}: takes the issuer as a parameter"
        );
        let deployed = create_stack(&conf, service, &adapted, &from_platform)
            .await
            .unwrap();
        apply(&conf, &plan, &deployed).await.unwrap();
        stacks.push((service.to_string(), deployed, plan));
    }

    // Each dead-letter topic reaches its queue through the API-made subscription.
    let sns = aws_sdk_sns::Client::new(&conf);
    for (service, deployed, _) in &stacks {
        sns.publish()
            .topic_arn(deployed.physical("DeadLetterTopic").unwrap())
            .message(format!("{{\"probe\":\"{service}\"}}"))
            .send()
            .await
            .unwrap();
        let got = receive(&sqs, deployed.physical("DeadLetterQueue").unwrap()).await;
        assert_eq!(got.len(), 1, "{service}");
        assert!(
            got[0]["Message"]
                .as_str()
                .unwrap()
                .contains(service.as_str())
        );
    }

    // A UserDeleted on the bus reaches the taps of todos' and notifications'
    // rules, and no rule still targets a function.
    let eb = aws_sdk_eventbridge::Client::new(&conf);
    user_deleted_on(&eb, "app-bus").await;
    let mut tapped = Vec::new();
    for (service, deployed, plan) in &stacks {
        for tap in &plan.rules {
            let rule = deployed.physical(&tap.rule).unwrap();
            let rule_name = rule.rsplit('|').next().unwrap();
            // A consumer's rule is on its team's inbox, which the team's
            // subscription on the shared bus feeds.
            let inbox = tap.bus.as_ref().expect("a consumer's rule is on its inbox");
            let bus = deployed.physical(inbox).unwrap();
            let targets = eb
                .list_targets_by_rule()
                .rule(rule_name)
                .event_bus_name(bus)
                .send()
                .await
                .unwrap();
            for t in targets.targets() {
                assert!(
                    t.arn().contains(":sqs:"),
                    "{service}/{}: {}",
                    tap.rule,
                    t.arn()
                );
            }
            let got = receive(&sqs, deployed.physical(&tap.tap_queue).unwrap()).await;
            if !got.is_empty() {
                assert_eq!(got[0]["detail-type"], "UserDeleted");
                tapped.push(format!("{service}/{}", tap.function));
            }
        }
    }
    tapped.sort();
    assert_eq!(
        tapped,
        [
            "campaigns/ConsumerFunction",
            "notifications/ConsumerFunction",
            "todos/OnUserDeletedFunction"
        ]
    );

    // An upload under users/ notifies the attachment check's tap queue.
    let (_, todos, plan) = stacks.iter().find(|(s, ..)| s == "todos").unwrap();
    let upload = &plan.uploads[0];
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    );
    s3.put_object()
        .bucket(todos.physical(&upload.bucket).unwrap())
        .key("users/u/todos/t/a")
        .body(b"x".to_vec().into())
        .send()
        .await
        .unwrap();
    let got = receive(&sqs, todos.physical(&upload.tap_queue).unwrap()).await;
    // S3 (real and emulated) first sends an s3:TestEvent when notifications
    // are configured; the object's record follows.
    let records: Vec<_> = got.iter().filter(|m| m.get("Records").is_some()).collect();
    assert_eq!(records.len(), 1, "{got:?}");
    assert_eq!(records[0]["Records"][0]["eventName"], "ObjectCreated:Put");
}

/// users' UserDeleted example put on `bus`, as users' publisher puts it:
/// its id.
pub(crate) async fn user_deleted_on(eb: &aws_sdk_eventbridge::Client, bus: &str) -> String {
    let example = std::fs::read_to_string(
        repo::root().join("events/examples/app.users/UserDeleted/v1/example.json"),
    )
    .unwrap();
    let put = eb
        .put_events()
        .entries(
            PutEventsRequestEntry::builder()
                .event_bus_name(bus)
                .source("app.users")
                .detail_type("UserDeleted")
                .detail(example)
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(put.failed_entry_count(), 0);
    put.entries()[0].event_id().unwrap().to_owned()
}
