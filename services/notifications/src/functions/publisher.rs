//! Lambda: the notifications table's stream → NotificationSent on the bus.

pub async fn run() -> Result<(), lambda_runtime::Error> {
    kit::outbox::run(kit::function!("publisher"), crate::publisher::events_for).await
}
