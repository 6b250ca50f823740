//! Lambda: the users table's stream → domain events on the bus.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    kit::outbox::run(kit::function!(), users::publisher::events_for).await
}
