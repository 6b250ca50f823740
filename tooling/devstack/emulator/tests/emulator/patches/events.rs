//! EventBridge as the patches play it: TestEventPattern, replays, input
//! transformers and rules changing under a PutEvents
//! (`src/patches/events_*.py`).

use super::*;

/// TestEventPattern answers with the emulator's own matcher, the one that
/// decides what it delivers (moto has no TestEventPattern of its own:
/// `src/patches/`), so it can check another implementation of the
/// pattern language.
#[tokio::test]
async fn test_event_pattern_answers_as_the_emulator_delivers() {
    let conf = shared().sdk_config().await;
    let eb = aws_sdk_eventbridge::Client::new(&conf);
    let event = serde_json::json!({
        "version": "0",
        "id": Uuid::new_v4(),
        "detail-type": "TodoCompleted",
        "source": "app.todos",
        "account": "123456789012",
        "time": "2024-05-01T12:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {"title": "t"}
    })
    .to_string();
    let test = |pattern: &'static str| {
        eb.test_event_pattern()
            .event_pattern(pattern)
            .event(&event)
            .send()
    };
    assert!(
        test(r#"{"source":[{"prefix":"app."}]}"#)
            .await
            .unwrap()
            .result
    );
    assert!(
        !test(r#"{"source":[{"prefix":"web."}]}"#)
            .await
            .unwrap()
            .result
    );
    let invalid = test(r#"{"source":"app.todos"}"#).await.unwrap_err();
    let invalid = invalid
        .as_service_error()
        .expect("an answer from the service");
    assert!(invalid.is_invalid_event_pattern_exception(), "{invalid:?}");
    assert!(
        invalid
            .meta()
            .message()
            .is_some_and(|m| m.starts_with("Event pattern is not valid.")),
        "{invalid:?}"
    );
    let not_an_event = eb
        .test_event_pattern()
        .event_pattern(r#"{"source":["app.todos"]}"#)
        .event("{not json")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        not_an_event
            .as_service_error()
            .and_then(|e| e.meta().code()),
        Some("ValidationException")
    );
}

/// A replay sends the archive's events of its window only, to the rules
/// `Destination.FilterArns` names only, and does not archive them again
/// (moto sent the whole archive to every rule: `src/patches/`).
#[tokio::test]
async fn a_replay_keeps_to_its_window_and_to_the_rules_it_names() {
    use aws_sdk_eventbridge::primitives::DateTime;
    use aws_sdk_eventbridge::types::{PutEventsRequestEntry, ReplayDestination, ReplayState};
    let conf = shared().sdk_config().await;
    let eb = aws_sdk_eventbridge::Client::new(&conf);
    let (bus, sqs, named_queue) = bus_with_queue(&conf).await;
    let other_queue = rule_to_new_queue(&eb, &sqs, &bus, "other-todos").await;
    let bus_arn = eb
        .describe_event_bus()
        .name(&bus)
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let named_rule = eb
        .describe_rule()
        .name("all-todos")
        .event_bus_name(&bus)
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let archive = unique("archive");
    let archive_arn = eb
        .create_archive()
        .archive_name(&archive)
        .event_source_arn(&bus_arn)
        .send()
        .await
        .unwrap()
        .archive_arn
        .unwrap();
    let now = chrono::Utc::now().timestamp();
    let at = |ago: i64, name: &str| {
        PutEventsRequestEntry::builder()
            .event_bus_name(&bus)
            .source("app.todos")
            .detail_type("TodoCompleted")
            .detail(serde_json::json!({ "name": name }).to_string())
            .time(DateTime::from_secs(now - ago))
            .build()
    };
    let put = eb
        .put_events()
        .entries(at(3600, "before"))
        .entries(at(120, "first"))
        .entries(at(60, "second"))
        .entries(at(0, "after"))
        .send()
        .await
        .unwrap();
    assert_eq!(put.failed_entry_count, 0);
    let published: Vec<_> = put
        .entries()
        .iter()
        .filter_map(|e| e.event_id.clone())
        .collect();
    assert_eq!(drain(&sqs, &named_queue).await.len(), 4);
    assert_eq!(drain(&sqs, &other_queue).await.len(), 4);
    let archived = || {
        let eb = eb.clone();
        let archive = archive.clone();
        async move {
            eb.describe_archive()
                .archive_name(&archive)
                .send()
                .await
                .unwrap()
                .event_count
        }
    };
    assert_eq!(archived().await, 4);

    let replay = unique("replay");
    eb.start_replay()
        .replay_name(&replay)
        .event_source_arn(&archive_arn)
        .event_start_time(DateTime::from_secs(now - 600))
        .event_end_time(DateTime::from_secs(now - 30))
        .destination(
            ReplayDestination::builder()
                .arn(&bus_arn)
                .filter_arns(&named_rule)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let replayed = drain(&sqs, &named_queue).await;
    let mut names: Vec<_> = replayed
        .iter()
        .map(|e| e["detail"]["name"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["first", "second"], "the window's events only");
    for event in &replayed {
        assert_eq!(event["replay-name"], replay.as_str());
        let id = event["id"].as_str().unwrap();
        assert!(
            !published.iter().any(|p| p == id),
            "a replayed event has a new id"
        );
    }
    assert_eq!(
        drain(&sqs, &other_queue).await.len(),
        0,
        "the rule FilterArns leaves out receives nothing"
    );
    assert_eq!(
        archived().await,
        4,
        "replayed events are not archived again"
    );
    let described = eb
        .describe_replay()
        .replay_name(&replay)
        .send()
        .await
        .unwrap();
    assert_eq!(described.state, Some(ReplayState::Completed));
    assert_eq!(
        described.event_last_replayed_time.map(|t| t.secs()),
        Some(now - 60),
        "the last event replayed is the window's latest"
    );
}

/// Each target's input paths are parsed once and kept by their text
/// (`src/patches/`): every event still gets its own values.
#[tokio::test]
async fn an_input_transformer_gives_each_event_its_own_values() {
    use aws_sdk_eventbridge::types::{InputTransformer, PutEventsRequestEntry};
    let conf = shared().sdk_config().await;
    let eb = aws_sdk_eventbridge::Client::new(&conf);
    let (bus, sqs, queue_url) = bus_with_queue(&conf).await;
    let arn = queue_arn(&sqs, &queue_url).await;
    let transformer = InputTransformer::builder()
        .input_paths_map("user", "$.detail.user")
        .input_template(r#"{"who": "<user>"}"#)
        .build()
        .unwrap();
    eb.put_targets()
        .rule("all-todos")
        .event_bus_name(&bus)
        .targets(
            Target::builder()
                .id("q")
                .arn(arn)
                .input_transformer(transformer)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    for user in ["ada", "grace", "ada"] {
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&bus)
            .source("app.todos")
            .detail_type("TodoCompleted")
            .detail(serde_json::json!({ "user": user }).to_string())
            .build();
        eb.put_events().entries(entry).send().await.unwrap();
    }
    let mut got: Vec<String> = drain(&sqs, &queue_url)
        .await
        .iter()
        .map(|m| m["who"].as_str().unwrap().to_owned())
        .collect();
    got.sort();
    assert_eq!(got, ["ada", "ada", "grace"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_put_events_meets_the_rules_of_its_moment_while_others_come_and_go() {
    use aws_sdk_eventbridge::types::PutEventsRequestEntry;
    let conf = shared().sdk_config().await;
    // Every answer as the engine gave it: a 500 is not retried away.
    let events = aws_sdk_eventbridge::Client::from_conf(
        aws_sdk_eventbridge::config::Builder::from(&conf)
            .retry_config(aws_sdk_eventbridge::config::retry::RetryConfig::disabled())
            .build(),
    );
    let bus = unique("churn");
    events.create_event_bus().name(&bus).send().await.unwrap();
    // Enough rules that a walk over them takes a while.
    for n in 0..300 {
        events
            .put_rule()
            .name(format!("steady-{n}"))
            .event_bus_name(&bus)
            .event_pattern(r#"{"source": ["app.churn"]}"#)
            .send()
            .await
            .unwrap();
    }
    let churn = {
        let (events, bus) = (events.clone(), bus.clone());
        tokio::spawn(async move {
            for n in 0..300 {
                let name = format!("coming-{n}");
                let put = events.put_rule().name(&name).event_bus_name(&bus);
                let _ = put.event_pattern(r#"{"source": ["other"]}"#).send().await;
                let _ = events
                    .delete_rule()
                    .name(&name)
                    .event_bus_name(&bus)
                    .send()
                    .await;
            }
        })
    };
    let mut failures = Vec::new();
    while !churn.is_finished() {
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&bus)
            .source("app.churn")
            .detail_type("Probe")
            .detail("{}")
            .build();
        if let Err(e) = events.put_events().entries(entry).send().await {
            failures.push(format!(
                "{}",
                aws_sdk_eventbridge::error::DisplayErrorContext(e)
            ));
        }
    }
    churn.await.unwrap();
    assert!(
        failures.is_empty(),
        "{} failed: {:?}",
        failures.len(),
        failures.first()
    );
}
