//! Lambda behind a Function URL, CloudFront's origin for `/view/*`: a
//! campaign's public page (`crate::page`).

use crate::page::{self, Page, View};
use crate::store::Store;
use aws_lambda_events::http::{HeaderName, HeaderValue};
use aws_lambda_events::lambda_function_urls::{
    LambdaFunctionUrlRequest, LambdaFunctionUrlResponse,
};
use kit::config::Lazy;
use lambda_runtime::LambdaEvent;

pub async fn run() -> Result<(), lambda_runtime::Error> {
    let telemetry = kit::telemetry::init(kit::function!("page"));
    let table = kit::config::var("TABLE_NAME")?;
    let store =
        &Lazy::new(move |conf| Store::new(aws_sdk_dynamodb::Client::new(conf), table.clone()));
    telemetry
        .run(
            move |event: LambdaEvent<LambdaFunctionUrlRequest>| async move {
                let path = event.payload.raw_path.as_deref().unwrap_or("/");
                let page = match page::id_of(path) {
                    None => page::render(None),
                    Some(id) => match store.get().await.campaign(id).await {
                        Ok(c) => page::render(c.as_ref().map(View::of).as_ref()),
                        Err(error) => {
                            tracing::error!(%id, %error, "the campaign could not be read");
                            page::unavailable()
                        }
                    },
                };
                Ok::<_, lambda_runtime::Error>(response(page))
            },
        )
        .await
}

fn response(page: Page) -> LambdaFunctionUrlResponse {
    let mut r = LambdaFunctionUrlResponse::default();
    r.status_code = i64::from(page.status);
    for (name, value) in page.headers {
        r.headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    r.body = Some(page.html);
    r
}
