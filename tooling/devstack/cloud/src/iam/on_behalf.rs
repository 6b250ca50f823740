//! What AWS does on the account's behalf, judged by the resource's own
//! policy or the role it acts as: SNS delivering to a queue, Lambda
//! publishing a function's dead letter and invoking it for a rule or a
//! bucket, a stream mapping's reads, a Step Functions task's invocation.

use devstack_iam::Mode;
use devstack_iam::actions::Call;
use devstack_iam::verdict::{Caller, judge};
use devstack_lambda::on_behalf::{Answer, Invoker};

use super::{Judge, denial};

impl Judge {
    /// Whether SNS may deliver from `topic_arn` to the queue `queue_arn`:
    /// the queue's policy, and its key's when it is encrypted.
    pub async fn delivery(&self, topic_arn: &str, queue_arn: &str) -> bool {
        if self.mode == Mode::Off {
            return true;
        }
        let sns = Caller::Service {
            name: "sns.amazonaws.com".into(),
            source_arn: topic_arn.to_owned(),
        };
        let who = format!("SNS {}", topic_arn.rsplit(':').next().unwrap_or(topic_arn));
        let queue = self.resources.of(queue_arn).await;
        let mut asked = vec![(
            Call::new("sqs:SendMessage", queue_arn),
            queue.policy.clone(),
        )];
        if let Some(key) = &queue.key {
            let key_policy = self.resources.of(key).await.policy.clone();
            for action in ["kms:GenerateDataKey", "kms:Decrypt"] {
                asked.push((Call::new(action, key.clone()), key_policy.clone()));
            }
        }
        for (call, policy) in asked {
            let verdict = judge(&sns, &[], policy.as_ref(), &call, &self.place);
            self.record(&who, sns.name(), &call, &verdict);
            if !verdict.allowed && self.mode == Mode::Strict {
                return false;
            }
        }
        true
    }

    /// Whether Lambda may publish `function`'s dead letter to `topic`:
    /// it does so as the function's role (`sns:Publish`, and the topic's
    /// key through SNS).
    pub async fn dead_letter_publish(&self, function: &str, topic: &str) -> bool {
        if self.mode == Mode::Off {
            return true;
        }
        let Some(session) = self.session_for(function) else {
            return true;
        };
        let publish = [Call::new("sns:Publish", topic)];
        self.verdicts(&session, &publish, "sns").await.is_ok()
    }

    /// Whether `invoker` may invoke `function_arn`: the function's own
    /// policy alone decides, as for any service principal.
    pub async fn invocation(&self, invoker: &Invoker, function_arn: &str) -> bool {
        self.for_service(invoker, "lambda:InvokeFunction", function_arn)
            .await
    }

    /// Whether AWS, acting for `invoker` (a service principal and the
    /// resource it acts for), may do `action` on `resource`: the resource's
    /// own policy decides (a function's permissions, a bucket's policy).
    pub async fn for_service(&self, invoker: &Invoker, action: &str, resource: &str) -> bool {
        if self.mode == Mode::Off {
            return true;
        }
        let caller = Caller::Service {
            name: invoker.principal.to_owned(),
            source_arn: invoker.source_arn.clone(),
        };
        let source = invoker.source_arn.rsplit(':').next().unwrap_or_default();
        let who = match invoker.principal {
            "events.amazonaws.com" => format!("EventBridge {source}"),
            "s3.amazonaws.com" => format!("S3 {source}"),
            "apigateway.amazonaws.com" => format!("API Gateway {source}"),
            other => format!("{other} {source}"),
        };
        let call = Call::new(action, resource);
        let policy = self.resources.of(resource).await.policy.clone();
        // A source whose ARN names no account (a bucket) acts in the
        // resource's: each stack's bucket feeds its own functions.
        let place = self.place_of(resource);
        let verdict = judge(&caller, &[], policy.as_ref(), &call, &place);
        self.record(&who, caller.name(), &call, &verdict);
        verdict.allowed || self.mode != Mode::Strict
    }

    /// Whether `function`'s role may read the stream `stream_arn`, as
    /// Lambda's poller reads it for the function: AWS refuses to create the
    /// mapping otherwise, in these words.
    pub async fn stream_reads(&self, function: &str, stream_arn: &str) -> Result<(), String> {
        let Some(session) = self.session_for(function) else {
            return Ok(());
        };
        let reads = [
            Call::new("dynamodb:DescribeStream", stream_arn),
            Call::new("dynamodb:GetRecords", stream_arn),
            Call::new("dynamodb:GetShardIterator", stream_arn),
            Call::new("dynamodb:ListStreams", "*"),
        ];
        self.verdicts(&session, &reads, "dynamodb")
            .await
            .map_err(|_| {
                format!(
                    "Cannot access stream {stream_arn}. Please ensure the role can perform \
                 the GetRecords, GetShardIterator, DescribeStream, and ListStreams \
                 Actions on your stream in IAM."
                )
            })
    }

    /// Whether a Step Functions task of an execution running as
    /// `role_arn` may invoke `function` (a name or an ARN): the role's
    /// policies and the function's own, as for any caller.
    pub async fn task_invocation(&self, role_arn: &str, function: &str) -> Result<(), String> {
        if self.mode == Mode::Off {
            return Ok(());
        }
        // The execution runs in its role's account: a task's bare name is
        // a function there.
        let place = self.place_of(role_arn);
        let function_arn = match function.starts_with("arn:") {
            true => function.to_owned(),
            false => format!(
                "arn:aws:lambda:{}:{}:function:{function}",
                place.region, place.account
            ),
        };
        let policies = self.policies_of(role_arn).await?;
        let role = role_arn.rsplit('/').next().unwrap_or(role_arn);
        let session = format!(
            "arn:aws:sts::{}:assumed-role/{role}/StepFunctions",
            place.account
        );
        let caller = Caller::Role {
            arn: role_arn.to_owned(),
            session: Some(session.clone()),
            tags: Vec::new(),
        };
        let call = Call::new("lambda:InvokeFunction", function_arn.as_str());
        let resource_policy = self.resources.of(&function_arn).await.policy.clone();
        let verdict = judge(&caller, &policies, resource_policy.as_ref(), &call, &place);
        self.record(&format!("Step Functions {role}"), role_arn, &call, &verdict);
        if verdict.allowed || self.mode != Mode::Strict {
            return Ok(());
        }
        Err(denial(&session, &call, &verdict))
    }
}

impl devstack_lambda::on_behalf::Judge for Judge {
    fn may_publish<'a>(&'a self, function: &'a str, topic: &'a str) -> Answer<'a> {
        Box::pin(self.dead_letter_publish(function, topic))
    }

    fn may_deliver<'a>(&'a self, topic: &'a str, queue: &'a str) -> Answer<'a> {
        Box::pin(self.delivery(topic, queue))
    }

    fn may_invoke<'a>(&'a self, invoker: &'a Invoker, function_arn: &'a str) -> Answer<'a> {
        Box::pin(self.invocation(invoker, function_arn))
    }
}

impl devstack_sfn::router::TaskJudge for Judge {
    fn may_invoke<'a>(
        &'a self,
        role_arn: &'a str,
        function: &'a str,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), String>> + Send + 'a>> {
        Box::pin(self.task_invocation(role_arn, function))
    }
}
