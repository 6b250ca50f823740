//! Lambda (async, from S3 object-created notifications): check an upload.

use aws_lambda_events::s3::S3Event;
use lambda_runtime::{LambdaEvent, service_fn};
use todos::objects::Objects;
use todos::store::Store;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    kit::logging::init();
    let table = kit::config::var("TABLE_NAME")?;
    let bucket = kit::config::var("BUCKET_NAME")?;
    let conf = kit::config::aws().await;
    let store = &Store::new(aws_sdk_dynamodb::Client::new(&conf), table);
    let objects = &Objects::new(todos::objects::client(&conf), bucket);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<S3Event>| async move {
        todos::uploads::handle(store, objects, &event.payload).await?;
        Ok::<(), lambda_runtime::Error>(())
    }))
    .await
}
