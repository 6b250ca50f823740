//! The stand-in over real HTTP: its API, its scenarios and its webhook,
//! received by a server in the test that verifies every signature itself.

mod support;

use std::time::Duration;

use devstack_sender::Options;
use serde_json::{Value, json};
use support::{API_KEY, Api, Receiver, campaign, eventually, options, sandbox};

fn statuses(got: &[support::Received]) -> Vec<&str> {
    got.iter().map(support::Received::status).collect()
}

#[tokio::test]
async fn a_wrong_or_missing_key_is_refused_and_counted() {
    let sandbox = sandbox(options(None)).await;
    let api = Api::of(&sandbox);
    let (status, _, body) = api
        .create("sk_test_wrong", None, &campaign("Hi", "r-1"))
        .await;
    assert_eq!(status, 401);
    assert_eq!(body["error"], "invalid_api_key");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()));
    let missing = api
        .http
        .post(format!("{}/v1/campaigns", api.base))
        .json(&campaign("Hi", "r-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 401);
    let (status, body) = api.get("sk_test_wrong", "cmp_x").await;
    assert_eq!((status, &body["error"]), (401, &json!("invalid_api_key")));

    let stats = api.control("stats").await;
    assert_eq!(stats["requests"], 3);
    assert_eq!(stats["unauthorized"], 3);
    assert_eq!(stats["accepted"], 0);
    assert_eq!(api.control("campaigns").await["campaigns"], json!([]));
}

#[tokio::test]
async fn a_malformed_body_is_refused_naming_the_field() {
    let sandbox = sandbox(options(None)).await;
    let api = Api::of(&sandbox);
    let with = |field: &str, value: Value| {
        let mut body = campaign("Hi", "r-1");
        body[field] = value;
        body
    };
    let cases = [
        (with("subject", json!("x".repeat(201))), "subject"),
        (with("body", json!("")), "body"),
        (with("recipients", json!([])), "recipients"),
        (
            with("recipients", json!(["a@example.com", ""])),
            "recipients",
        ),
        (with("reference", json!(12)), "reference"),
    ];
    for (body, field) in &cases {
        let (status, _, answer) = api.create(API_KEY, None, body).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(answer["error"], "invalid_request");
        assert_eq!(answer["field"], *field, "{answer}");
    }
    let not_json = api
        .http
        .post(format!("{}/v1/campaigns", api.base))
        .bearer_auth(API_KEY)
        .body("{\"subject\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(not_json.status(), 400);
    let answer: Value = not_json.json().await.unwrap();
    assert_eq!(answer["field"], "request");

    let stats = api.control("stats").await;
    assert_eq!(stats["invalid"], 6);
    assert_eq!(stats["accepted"], 0);
}

#[tokio::test]
async fn a_campaign_moves_pending_sending_sent_with_signed_deliveries() {
    let receiver = Receiver::start(&[]).await;
    let sandbox = sandbox(options(Some(receiver.url.clone()))).await;
    let api = Api::of(&sandbox);

    let (status, _, answer) = api
        .create(API_KEY, Some("k-1"), &campaign("Hi", "ref-1"))
        .await;
    assert_eq!(status, 202, "{answer}");
    let id = answer["id"].as_str().unwrap().to_owned();
    let hex = id.strip_prefix("cmp_").unwrap();
    assert!(
        hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit()),
        "{id}"
    );
    assert_eq!(answer["status"], "pending");
    assert_eq!(answer["reference"], "ref-1");
    assert_eq!(answer["recipients"], 2);

    let got = receiver.wait_for(&id, 3).await;
    assert_eq!(statuses(&got), ["pending", "sending", "sent"]);
    for r in &got {
        assert!(r.signed, "bad signature: {:?}", r);
        assert_eq!(r.body["reference"], "ref-1");
        assert!(r.body.get("reason").is_none(), "{}", r.body);
        uuid::Uuid::parse_str(r.delivery_id()).unwrap();
    }
    let times: Vec<_> = got
        .iter()
        .map(|r| {
            chrono::DateTime::parse_from_rfc3339(r.body["occurred_at"].as_str().unwrap()).unwrap()
        })
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    let ids: std::collections::HashSet<_> =
        got.iter().map(support::Received::delivery_id).collect();
    assert_eq!(ids.len(), 3, "one delivery id per status");

    let (status, now) = api.get(API_KEY, &id).await;
    assert_eq!(status, 200);
    assert_eq!(now["status"], "sent");
    assert!(now.get("reason").is_none());
    let (status, missing) = api.get(API_KEY, "cmp_nothing").await;
    assert_eq!((status, &missing["error"]), (404, &json!("not_found")));

    let record = api.record(&id).await;
    let history: Vec<_> = record["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["status"].clone())
        .collect();
    assert_eq!(history, [json!("pending"), json!("sending"), json!("sent")]);
    for d in record["deliveries"].as_array().unwrap() {
        assert_eq!(d["outcome"], "delivered", "{d}");
        assert_eq!(d["attempts"][0]["answer"], 200);
    }
    let stats = api.control("stats").await;
    assert_eq!(
        (
            &stats["accepted"],
            &stats["deliveries"],
            &stats["delivery_attempts"]
        ),
        (&json!(1), &json!(3), &json!(3))
    );
}

#[tokio::test]
async fn the_same_idempotency_key_answers_the_same_campaign() {
    let receiver = Receiver::start(&[]).await;
    let sandbox = sandbox(options(Some(receiver.url.clone()))).await;
    let api = Api::of(&sandbox);
    let body = campaign("Hi", "ref-1");

    let (_, _, first) = api.create(API_KEY, Some("k-1"), &body).await;
    let (status, headers, again) = api.create(API_KEY, Some("k-1"), &body).await;
    assert_eq!(status, 202);
    assert_eq!(again["id"], first["id"]);
    assert_eq!(headers["idempotent-replayed"], "true");
    let (_, _, other) = api.create(API_KEY, Some("k-2"), &body).await;
    assert_ne!(other["id"], first["id"]);

    // The other campaign started later: once it is all delivered, the
    // first would have shown any second run.
    receiver.wait_for(other["id"].as_str().unwrap(), 3).await;
    let first_id = first["id"].as_str().unwrap();
    assert_eq!(
        statuses(&receiver.of(first_id)),
        ["pending", "sending", "sent"]
    );
    let listing = api.control("campaigns").await;
    assert_eq!(listing["campaigns"].as_array().unwrap().len(), 2);
    let requests = &api.record(first_id).await["requests"];
    assert_eq!(requests.as_array().unwrap().len(), 2, "{requests}");
    assert!(
        requests
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == 202)
    );
    let stats = api.control("stats").await;
    assert_eq!(
        (&stats["accepted"], &stats["replayed"]),
        (&json!(2), &json!(1))
    );
}

#[tokio::test]
async fn five_xx_twice_then_accepted() {
    let sandbox = sandbox(options(None)).await;
    let api = Api::of(&sandbox);
    let body = campaign("Hi [sandbox:5xx=2]", "ref-5xx");
    let mut answers = Vec::new();
    for _ in 0..3 {
        let (status, _, answer) = api.create(API_KEY, Some("k-5xx"), &body).await;
        answers.push((status, answer));
    }
    assert_eq!(answers[0].0, 503);
    assert_eq!(answers[0].1["error"], "unavailable");
    assert_eq!(answers[1].0, 503);
    assert_eq!(answers[2].0, 202);
    let id = answers[2].1["id"].as_str().unwrap();
    let requests = &api.record(id).await["requests"];
    let codes: Vec<_> = requests
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(codes, [503, 503, 202]);
    assert_eq!(api.control("stats").await["refused"], 2);
}

#[tokio::test]
async fn four_two_nine_with_retry_after_then_accepted_without_a_key() {
    let sandbox = sandbox(options(None)).await;
    let api = Api::of(&sandbox);
    let body = campaign("Hi [sandbox:429=1]", "ref-429");
    let (status, headers, answer) = api.create(API_KEY, None, &body).await;
    assert_eq!(status, 429);
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(answer["error"], "rate_limited");
    let listing = api.control("campaigns").await;
    assert_eq!(
        listing["requests_without_campaign"][0]["requests"][0]["status"],
        429
    );
    // Without a key the same body is the same request, so the next is
    // accepted; another body has its own count.
    let (status, _, _) = api.create(API_KEY, None, &body).await;
    assert_eq!(status, 202);
    let (status, _, _) = api
        .create(API_KEY, None, &campaign("Hi [sandbox:429=1]", "ref-other"))
        .await;
    assert_eq!(status, 429);
}

#[tokio::test]
async fn a_failing_campaign_ends_failed_with_its_reason() {
    let receiver = Receiver::start(&[]).await;
    let sandbox = sandbox(options(None)).await;
    let api = Api::of(&sandbox);
    // The URL through the control route this time.
    let set = api
        .http
        .put(format!("{}/_sandbox/webhook", api.base))
        .json(&json!({"url": receiver.url}))
        .send()
        .await
        .unwrap();
    assert_eq!(set.status(), 204);

    let (_, _, answer) = api
        .create(API_KEY, None, &campaign("[sandbox:fail] Hi", "ref-f"))
        .await;
    let id = answer["id"].as_str().unwrap();
    let got = receiver.wait_for(id, 3).await;
    assert_eq!(statuses(&got), ["pending", "sending", "failed"]);
    assert!(got.iter().all(|r| r.signed));
    assert_eq!(
        got[2].body["reason"],
        "the mailbox provider rejected the campaign"
    );
    assert!(got[1].body.get("reason").is_none());
    let (_, now) = api.get(API_KEY, id).await;
    assert_eq!(now["status"], "failed");
    assert_eq!(now["reason"], "the mailbox provider rejected the campaign");
}

#[tokio::test]
async fn a_silent_campaign_never_moves_nor_calls() {
    let receiver = Receiver::start(&[]).await;
    let sandbox = sandbox(options(Some(receiver.url.clone()))).await;
    let api = Api::of(&sandbox);
    let (status, _, silent) = api
        .create(API_KEY, None, &campaign("[sandbox:silent] Hi", "ref-s"))
        .await;
    assert_eq!(status, 202);
    // A campaign accepted after it going all the way is the clock: by
    // then the silent one has had three steps to move.
    let (_, _, loud) = api.create(API_KEY, None, &campaign("Hi", "ref-l")).await;
    receiver.wait_for(loud["id"].as_str().unwrap(), 3).await;

    let silent_id = silent["id"].as_str().unwrap();
    assert!(receiver.of(silent_id).is_empty());
    let (_, now) = api.get(API_KEY, silent_id).await;
    assert_eq!(now["status"], "pending");
    assert_eq!(api.record(silent_id).await["deliveries"], json!([]));
}

#[tokio::test]
async fn a_duplicate_campaign_sends_each_delivery_twice() {
    let receiver = Receiver::start(&[]).await;
    let sandbox = sandbox(options(Some(receiver.url.clone()))).await;
    let api = Api::of(&sandbox);
    let (_, _, answer) = api
        .create(API_KEY, None, &campaign("[sandbox:duplicate] Hi", "ref-d"))
        .await;
    let got = receiver.wait_for(answer["id"].as_str().unwrap(), 6).await;
    assert_eq!(
        statuses(&got),
        ["pending", "pending", "sending", "sending", "sent", "sent"]
    );
    for pair in got.chunks(2) {
        assert_eq!(pair[0].delivery_id(), pair[1].delivery_id());
        assert_eq!(pair[0].raw, pair[1].raw, "the same bytes");
        assert!(pair[0].signed && pair[1].signed);
    }
    let stats = api.control("stats").await;
    assert_eq!(
        (&stats["deliveries"], &stats["duplicates_sent"]),
        (&json!(3), &json!(3))
    );
}

#[tokio::test]
async fn every_nth_delivery_is_sent_twice() {
    let receiver = Receiver::start(&[]).await;
    let sandbox = sandbox(Options {
        duplicate_every: Some(3),
        ..options(Some(receiver.url.clone()))
    })
    .await;
    let api = Api::of(&sandbox);
    let (_, _, answer) = api.create(API_KEY, None, &campaign("Hi", "ref-n")).await;
    let id = answer["id"].as_str().unwrap();
    let got = receiver.wait_for(id, 4).await;
    assert_eq!(statuses(&got), ["pending", "sending", "sent", "sent"]);
    assert_eq!(got[2].delivery_id(), got[3].delivery_id());
    let record = api.record(id).await;
    let last = &record["deliveries"][2]["attempts"];
    assert_eq!(last[1]["duplicate"], true, "{last}");
}

#[tokio::test]
async fn a_failing_receiver_gets_retries_of_the_same_delivery_signed_afresh() {
    let receiver = Receiver::start(&[500, 500]).await;
    // 600 ms, then 1.2 s: the third attempt is signed in a later second
    // than the first, so a reused timestamp would show.
    let sandbox = sandbox(Options {
        retry_base: Duration::from_millis(600),
        ..options(Some(receiver.url.clone()))
    })
    .await;
    let api = Api::of(&sandbox);
    let (_, _, answer) = api.create(API_KEY, None, &campaign("Hi", "ref-r")).await;
    let id = answer["id"].as_str().unwrap();
    let got = receiver.wait_for(id, 5).await;
    assert_eq!(
        statuses(&got),
        ["pending", "pending", "pending", "sending", "sent"],
        "the next status waits for the retried one"
    );
    let answered: Vec<_> = got.iter().map(|r| r.answered).collect();
    assert_eq!(answered, [500, 500, 200, 200, 200]);
    assert!(
        got[..3]
            .iter()
            .all(|r| r.delivery_id() == got[0].delivery_id())
    );
    assert!(got[..3].iter().all(|r| r.raw == got[0].raw));
    assert!(
        got.iter().all(|r| r.signed),
        "each signed for its timestamp"
    );
    assert!(got[2].timestamp > got[0].timestamp, "re-signed later");

    let record = api.record(id).await;
    let attempts = &record["deliveries"][0]["attempts"];
    let seen: Vec<_> = attempts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["attempt"].as_u64().unwrap(),
                a["answer"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(seen, [(1, 500), (2, 500), (3, 200)]);
    let stats = api.control("stats").await;
    assert_eq!(
        (&stats["deliveries"], &stats["delivery_attempts"]),
        (&json!(3), &json!(5))
    );
}

#[tokio::test]
async fn a_delivery_is_given_up_after_max_attempts_and_the_next_goes_on() {
    let receiver = Receiver::start(&[500, 503]).await;
    let sandbox = sandbox(Options {
        max_attempts: 2,
        ..options(Some(receiver.url.clone()))
    })
    .await;
    let api = Api::of(&sandbox);
    let (_, _, answer) = api.create(API_KEY, None, &campaign("Hi", "ref-g")).await;
    let id = answer["id"].as_str().unwrap();
    let got = receiver.wait_for(id, 4).await;
    assert_eq!(statuses(&got), ["pending", "pending", "sending", "sent"]);
    let record = api.record(id).await;
    assert_eq!(record["deliveries"][0]["outcome"], "given_up");
    assert_eq!(record["deliveries"][1]["outcome"], "delivered");
    assert_eq!(api.control("stats").await["deliveries_given_up"], 1);
}

#[tokio::test]
async fn a_connection_error_is_recorded_and_retried() {
    // A port nothing listens on: bound, then closed.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/hook", l.local_addr().unwrap())
    };
    let sandbox = sandbox(Options {
        max_attempts: 2,
        ..options(Some(closed))
    })
    .await;
    let api = Api::of(&sandbox);
    let (_, _, answer) = api
        .create(API_KEY, None, &campaign("[sandbox:fast] Hi", "ref-c"))
        .await;
    let id = answer["id"].as_str().unwrap().to_owned();
    let record = eventually("three deliveries given up", || async {
        let record = api.record(&id).await;
        let given_up = record["deliveries"]
            .as_array()
            .is_some_and(|d| d.len() == 3 && d.iter().all(|d| d["outcome"] == "given_up"));
        given_up.then_some(record)
    })
    .await;
    let attempt = &record["deliveries"][0]["attempts"][1];
    assert_eq!(attempt["answer"], Value::Null);
    assert!(
        attempt["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{attempt}"
    );
}

#[tokio::test]
async fn a_rotated_key_refuses_the_old_one_at_once() {
    let sandbox = sandbox(options(None)).await;
    let api = Api::of(&sandbox);
    let body = campaign("Hi", "ref-k");
    let old = sandbox.api_key();
    assert_eq!(old, API_KEY);
    let new = sandbox.rotate_api_key();
    assert_ne!(new, old);
    assert_eq!(sandbox.api_key(), new);
    assert_eq!(api.create(&old, None, &body).await.0, 401);
    assert_eq!(api.create(&new, None, &body).await.0, 202);

    // And through the control route.
    let rotated: Value = api
        .http
        .post(format!("{}/_sandbox/api-key/rotate", api.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let newer = rotated["api_key"].as_str().unwrap();
    assert_ne!(newer, new);
    assert_eq!(sandbox.api_key(), newer);
    assert_eq!(api.get(&new, "cmp_x").await.0, 401);
    assert_eq!(api.create(newer, Some("k"), &body).await.0, 202);
    assert_eq!(api.control("stats").await["unauthorized"], 2);
}

#[tokio::test]
async fn deliveries_wait_for_a_webhook_url_and_then_all_arrive() {
    let receiver = Receiver::start(&[]).await;
    // A 30 s step: only `[sandbox:fast]` can finish within the test.
    let sandbox = sandbox(Options {
        step: Duration::from_secs(30),
        ..options(None)
    })
    .await;
    let api = Api::of(&sandbox);
    let (_, _, answer) = api
        .create(API_KEY, None, &campaign("[sandbox:fast] Hi", "ref-w"))
        .await;
    let id = answer["id"].as_str().unwrap().to_owned();
    let record = eventually("the campaign sent, its deliveries queued", || async {
        let record = api.record(&id).await;
        (record["status"] == "sent" && record["deliveries"].as_array()?.len() == 3)
            .then_some(record)
    })
    .await;
    for d in record["deliveries"].as_array().unwrap() {
        assert_eq!(d["outcome"], "queued", "{d}");
        assert_eq!(d["attempts"], json!([]));
    }
    assert!(receiver.received().is_empty());

    sandbox.set_webhook_url(receiver.url.clone());
    let got = receiver.wait_for(&id, 3).await;
    assert_eq!(statuses(&got), ["pending", "sending", "sent"]);
    assert!(got.iter().all(|r| r.signed));
    assert_eq!(api.control("stats").await["delivery_attempts"], 3);
}
