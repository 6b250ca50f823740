//! API Gateway invokes a function only as the function's own policy (its
//! Lambda permissions) lets `apigateway.amazonaws.com` in for the ARN of
//! what calls it (`{api}/{stage}/{METHOD}/{path}`, `{api}/{stage}/{route}`,
//! `{api}/authorizers/{id}`): otherwise the caller gets API Gateway's 500
//! and the function never runs. The composition judges; without a judge
//! everything goes ahead.

use std::sync::Arc;

use devstack_lambda::on_behalf::{Invoker, Judge};
use devstack_lambda::runtime::Function;

/// Whatever judges the gateway's invocations, shared by its APIs.
pub type Judged = Option<Arc<dyn Judge>>;

/// `arn:aws:execute-api:{region}:{account}:{api_id}/{rest}`: an API is in
/// the account of the stack that holds it and its functions.
pub fn arn(account: &str, api_id: &str, rest: &str) -> String {
    format!(
        "arn:aws:execute-api:{}:{account}:{api_id}/{rest}",
        kit::config::LOCAL_REGION,
    )
}

/// Whether API Gateway may invoke `function` for `source_arn`; a refusal
/// is a trail line.
pub async fn may_invoke(judge: &Judged, function: &Function, source_arn: String) -> bool {
    let Some(judge) = judge else {
        return true;
    };
    let invoker = Invoker {
        principal: "apigateway.amazonaws.com",
        source_arn,
    };
    let allowed = judge.may_invoke(&invoker, &function.spec.arn).await;
    if !allowed {
        tracing::error!(target: "trail", function = %function.spec.name, source = %invoker.source_arn,
            "the function's policy does not let API Gateway in: 500, as on AWS");
    }
    allowed
}
