//! Lambda (async, from S3 object-created notifications): check an upload.

use crate::objects::Objects;
use crate::store::Store;
use aws_lambda_events::s3::S3Event;
use kit::config::Lazy;
use lambda_runtime::LambdaEvent;

pub async fn run() -> Result<(), lambda_runtime::Error> {
    let telemetry = kit::telemetry::init(kit::function!("attachment-check"));
    let table = kit::config::var("TABLE_NAME")?;
    let bucket = kit::config::var("BUCKET_NAME")?;
    let adapters = &Lazy::new(move |conf| {
        (
            Store::new(aws_sdk_dynamodb::Client::new(conf), table.clone()),
            Objects::new(conf, bucket.clone()),
        )
    });
    telemetry
        .run(move |event: LambdaEvent<S3Event>| async move {
            let (store, objects) = adapters.get().await;
            let checked = crate::uploads::handle(store, objects, &event.payload).await;
            // S3 notifications are consumed events too: their age is how far
            // behind the checks run.
            for record in &event.payload.records {
                kit::telemetry::consumed(
                    record.event_name.as_deref().unwrap_or("ObjectCreated"),
                    record.event_time.into(),
                    kit::telemetry::Consumed::of(&checked, |_| false),
                );
            }
            checked?;
            Ok::<(), lambda_runtime::Error>(())
        })
        .await
}
