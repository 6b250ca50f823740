//! Lambda: every campaigns function, one binary. The function's `Handler`
//! (`_HANDLER`, as the `provided.al2023` runtime starts it) picks which
//! one this process runs: a change to the service links one binary.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    campaigns::functions::run(&kit::handler::from_env()?).await
}
