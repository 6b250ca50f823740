//! Lambda: the campaigns table's stream → domain events on the bus.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    kit::outbox::run(kit::function!(), campaigns::publisher::events_for).await
}
