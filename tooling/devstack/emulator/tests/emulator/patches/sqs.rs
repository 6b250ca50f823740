//! SQS's sends and receives as the patches make them
//! (`src/patches/sqs.py`).

use super::*;

/// A send does not count the queue (`src/patches/`), and still reads
/// what it needs: a FIFO queue's content-based deduplication holds, and
/// GetQueueAttributes counts every message afterwards.
#[tokio::test]
async fn sends_keep_deduplication_and_the_counts_stay_true() {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let conf = shared().sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let fifo = sqs
        .create_queue()
        .queue_name(format!("{}.fifo", unique("dedup")))
        .attributes(A::FifoQueue, "true")
        .attributes(A::ContentBasedDeduplication, "true")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    for _ in 0..2 {
        sqs.send_message()
            .queue_url(&fifo)
            .message_body("same")
            .message_group_id("g")
            .send()
            .await
            .unwrap();
    }
    let plain = new_queue(&sqs, "counted").await;
    for i in 0..3 {
        sqs.send_message()
            .queue_url(&plain)
            .message_body(format!("m{i}"))
            .send()
            .await
            .unwrap();
    }
    let count = |url: String| {
        let sqs = sqs.clone();
        async move {
            sqs.get_queue_attributes()
                .queue_url(url)
                .attribute_names(A::ApproximateNumberOfMessages)
                .send()
                .await
                .unwrap()
                .attributes
                .unwrap()[&A::ApproximateNumberOfMessages]
                .clone()
        }
    };
    assert_eq!(count(fifo).await, "1", "the duplicate was deduplicated");
    assert_eq!(count(plain).await, "3");
}

/// A receive walks the queue with one clock read (`src/patches/`), and
/// still hands out only what SQS would: no message in flight, none still
/// delayed, no more than asked for; one made visible again comes back, and
/// a delayed one once its delay is over.
#[tokio::test]
async fn receives_hand_out_only_visible_undelayed_messages() {
    let conf = shared().sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let url = new_queue(&sqs, "visible").await;
    for body in ["now-1", "now-2"] {
        let send = sqs.send_message().queue_url(&url).message_body(body);
        send.send().await.unwrap();
    }
    let later = sqs.send_message().queue_url(&url).message_body("later");
    later.delay_seconds(3).send().await.unwrap();
    let receive = |max: i32, wait: i32| {
        let (sqs, url) = (sqs.clone(), url.clone());
        async move {
            let got = sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(max)
                .visibility_timeout(30)
                .wait_time_seconds(wait)
                .send()
                .await
                .unwrap();
            got.messages
                .unwrap_or_default()
                .into_iter()
                .map(|m| (m.body.unwrap(), m.receipt_handle.unwrap()))
                .collect::<Vec<_>>()
        }
    };
    let first = receive(1, 0).await;
    assert_eq!(first.len(), 1, "{first:?}");
    let second = receive(10, 0).await;
    let bodies: Vec<&str> = second.iter().map(|(b, _)| b.as_str()).collect();
    let other = if first[0].0 == "now-1" {
        "now-2"
    } else {
        "now-1"
    };
    assert_eq!(
        bodies,
        [other],
        "not the one in flight, not the delayed one"
    );
    assert!(receive(10, 0).await.is_empty(), "all in flight or delayed");
    sqs.change_message_visibility()
        .queue_url(&url)
        .receipt_handle(&first[0].1)
        .visibility_timeout(0)
        .send()
        .await
        .unwrap();
    let again = receive(10, 0).await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].0, first[0].0, "visible again");
    let delayed = receive(10, 5).await;
    let bodies: Vec<&str> = delayed.iter().map(|(b, _)| b.as_str()).collect();
    assert_eq!(bodies, ["later"], "once its delay is over");
}

/// Sends and deletes on one queue at once, as a tap's are (EventBridge
/// sending while the poller deletes what its function has run): every
/// message sent is received once, and none deleted comes back. moto's
/// delete rebuilt the queue's list without its lock, so a send landing
/// meanwhile was dropped, and two deletes at once kept one of their
/// messages (`src/patches/sqs.py`).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_queue_loses_no_send_and_keeps_no_delete_while_both_run_at_once() {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    // A long queue makes each delete's rebuild long enough to be caught
    // in the middle; on an emulator of its own, so its neighbours do not
    // wait behind it.
    const BACKLOG: usize = 2000;
    const SENT_MEANWHILE: usize = 500;
    const SENDERS: usize = 4;
    let emulator = devstack_emulator::start().unwrap();
    let conf = emulator.sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&conf);
    let url = new_queue(&sqs, "busy").await;
    // Each sender sends the bodies `m{i}` of its share of `range`, one
    // after another.
    let senders = |range: std::ops::Range<usize>| {
        let mut set = tokio::task::JoinSet::new();
        for k in 0..SENDERS {
            let (sqs, url) = (sqs.clone(), url.clone());
            let share: Vec<usize> = range.clone().filter(|i| i % SENDERS == k).collect();
            set.spawn(async move {
                for i in share {
                    (sqs.send_message().queue_url(&url))
                        .message_body(format!("m{i}"))
                        .send()
                        .await
                        .unwrap();
                }
            });
        }
        set
    };
    senders(0..BACKLOG).join_all().await;
    let meanwhile = senders(BACKLOG..BACKLOG + SENT_MEANWHILE);
    let mut received = std::collections::BTreeMap::<String, usize>::new();
    let mut deletes = tokio::task::JoinSet::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    while received.len() < BACKLOG + SENT_MEANWHILE && tokio::time::Instant::now() < deadline {
        let got = (sqs.receive_message().queue_url(&url))
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .visibility_timeout(300)
            .send()
            .await
            .unwrap();
        for m in got.messages.unwrap_or_default() {
            *received
                .entry(m.body().unwrap_or_default().to_owned())
                .or_default() += 1;
            let (sqs, url) = (sqs.clone(), url.clone());
            let handle = m.receipt_handle().unwrap_or_default().to_owned();
            deletes.spawn(async move {
                (sqs.delete_message().queue_url(&url))
                    .receipt_handle(handle)
                    .send()
                    .await
                    .unwrap();
            });
        }
    }
    meanwhile.join_all().await;
    deletes.join_all().await;
    let missing: Vec<usize> = (0..BACKLOG + SENT_MEANWHILE)
        .filter(|i| !received.contains_key(&format!("m{i}")))
        .collect();
    assert!(missing.is_empty(), "sent, never received: {missing:?}");
    assert!(received.values().all(|n| *n == 1), "received twice");
    let left = (sqs.get_queue_attributes().queue_url(&url))
        .attribute_names(A::All)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap_or_default();
    let count = |a: A| left.get(&a).cloned().unwrap_or_default();
    assert_eq!(
        (
            count(A::ApproximateNumberOfMessages),
            count(A::ApproximateNumberOfMessagesNotVisible)
        ),
        ("0".to_owned(), "0".to_owned()),
        "every message was deleted once received"
    );
}
