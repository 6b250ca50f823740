//! Lambda: the todos table's stream → domain events on the bus.

use aws_lambda_events::dynamodb::Event;
use aws_lambda_events::streams::DynamoDbEventResponse;
use kit::publisher::{Limits, Publisher};
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    kit::logging::init();
    let bus = kit::config::var("EVENT_BUS_NAME")?;
    let limits = Limits {
        max_request_bytes: kit::config::number(
            "PUT_EVENTS_MAX_BYTES",
            kit::publisher::DEFAULT_MAX_REQUEST_BYTES,
        )?,
        ..Limits::default()
    };
    let publisher = Publisher::new(
        aws_sdk_eventbridge::Client::new(&kit::config::aws().await),
        bus,
        limits,
    );
    let publisher = &publisher;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Event>| async move {
        let outcome = kit::outbox::publish_records(
            &event.payload.records,
            todos::publisher::events_for,
            publisher,
        )
        .await;
        Ok::<DynamoDbEventResponse, lambda_runtime::Error>(outcome.response())
    }))
    .await
}
