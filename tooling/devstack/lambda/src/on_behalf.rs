//! What the local Lambda asks before it does what AWS does on a
//! function's behalf, each judged by the policies AWS would read: the
//! composition (`devstack_cloud::iam`) answers; without a judge everything
//! goes ahead.

use std::future::Future;
use std::pin::Pin;

pub type Answer<'a> = Pin<Box<dyn Future<Output = bool> + Send + 'a>>;

/// Who AWS invokes a function for: the service principal and the resource
/// it acts for (a rule's ARN, a bucket's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invoker {
    /// `events.amazonaws.com`, `s3.amazonaws.com`.
    pub principal: &'static str,
    pub source_arn: String,
}

pub trait Judge: Send + Sync {
    /// Whether Lambda may publish `function`'s dead letter to `topic` (its
    /// ARN): it does so as the function's role. `function`:
    /// `<service>/<LogicalId>`.
    fn may_publish<'a>(&'a self, function: &'a str, topic: &'a str) -> Answer<'a>;
    /// Whether SNS may deliver from the topic to the queue (ARNs).
    fn may_deliver<'a>(&'a self, topic: &'a str, queue: &'a str) -> Answer<'a>;
    /// Whether `invoker` may invoke the function `function_arn`: its
    /// resource-based policy (the template's Lambda permissions) decides.
    fn may_invoke<'a>(&'a self, invoker: &'a Invoker, function_arn: &'a str) -> Answer<'a>;
}
