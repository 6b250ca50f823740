//! Lambda (async, from S3 object-created notifications): check an upload.

use aws_lambda_events::s3::S3Event;
use kit::config::Lazy;
use lambda_runtime::{LambdaEvent, service_fn};
use todos::objects::Objects;
use todos::store::Store;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    kit::logging::init();
    let table = kit::config::var("TABLE_NAME")?;
    let bucket = kit::config::var("BUCKET_NAME")?;
    let adapters = &Lazy::new(move |conf| {
        (
            Store::new(aws_sdk_dynamodb::Client::new(conf), table.clone()),
            Objects::new(todos::objects::client(conf), bucket.clone()),
        )
    });
    lambda_runtime::run(service_fn(move |event: LambdaEvent<S3Event>| async move {
        let (store, objects) = adapters.get().await;
        todos::uploads::handle(store, objects, &event.payload).await?;
        Ok::<(), lambda_runtime::Error>(())
    }))
    .await
}
