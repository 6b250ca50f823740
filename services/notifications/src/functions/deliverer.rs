//! Lambda: the notifications table's stream → the SNS delivery topic and
//! the user's open WebSocket connections.

use crate::fan_out::{FanOut, Live, fan_out_records};
use crate::push::Push;
use crate::store::Store;
use aws_lambda_events::dynamodb::Event;
use aws_lambda_events::streams::DynamoDbEventResponse;
use kit::config::Lazy;
use lambda_runtime::LambdaEvent;

pub async fn run() -> Result<(), lambda_runtime::Error> {
    let telemetry = kit::telemetry::init(kit::function!("deliverer"));
    let topic = kit::config::var("DELIVERY_TOPIC_ARN")?;
    let table = kit::config::var("TABLE_NAME")?;
    let endpoint = kit::config::var("CONNECTIONS_URL")?;
    let fan_out = &Lazy::new(move |conf| {
        FanOut::new(aws_sdk_sns::Client::new(conf), topic.clone()).with_live(Live {
            store: Store::new(aws_sdk_dynamodb::Client::new(conf), &table),
            push: Push::new(conf, &endpoint),
        })
    });
    telemetry
        .run(move |event: LambdaEvent<Event>| async move {
            let outcome = fan_out_records(&event.payload.records, fan_out.get().await).await;
            Ok::<DynamoDbEventResponse, lambda_runtime::Error>(outcome.response())
        })
        .await
}
