//! Lambda: the notifications table's stream → NotificationSent on the bus.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    kit::outbox::run(kit::function!(), notifications::publisher::events_for).await
}
