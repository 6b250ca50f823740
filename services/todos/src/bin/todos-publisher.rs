//! Lambda: the todos table's stream → domain events on the bus.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    kit::outbox::run(todos::publisher::events_for).await
}
