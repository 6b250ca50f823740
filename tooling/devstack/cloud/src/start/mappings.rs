//! A service's event source mappings: the taps behind its rules and buckets, each
//! with the invoker the function's policy must let in, and its stream
//! pollers, each once the function's role may read the stream.

use anyhow::Result;
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use devstack_lambda::mappings::{StreamPoller, TapKind, poll_tap};
use devstack_lambda::on_behalf::Invoker;
use devstack_template::adapt::Plan;

use super::wiring::Wiring;
use crate::deploy::Deployed;
use crate::deploy::qualified;

impl Wiring<'_> {
    /// The rule and upload taps: SQS queues the emulator fills, polled for
    /// the async invoker, each with the rule or bucket the function's
    /// policy must let in.
    pub(super) async fn start_taps(
        &mut self,
        service: &str,
        plan: &Plan,
        deployed: &Deployed,
    ) -> Result<()> {
        for t in &plan.rules {
            let bus = match &t.bus {
                Some(own) => deployed.physical(own)?,
                None => self.endpoints.bus_name.as_str(),
            };
            let invoker = Invoker {
                principal: "events.amazonaws.com",
                source_arn: self
                    .rule_arn(service, deployed.physical(&t.rule)?, bus)
                    .await?,
            };
            self.tap(
                service,
                &t.function,
                deployed.physical(&t.tap_queue)?,
                (TapKind::Rule, invoker),
            );
        }
        for t in &plan.uploads {
            let invoker = Invoker {
                principal: "s3.amazonaws.com",
                source_arn: format!("arn:aws:s3:::{}", deployed.physical(&t.bucket)?),
            };
            self.tap(
                service,
                &t.function,
                deployed.physical(&t.tap_queue)?,
                (TapKind::Upload, invoker),
            );
        }
        Ok(())
    }

    fn tap(&mut self, service: &str, function: &str, queue_url: &str, source: (TapKind, Invoker)) {
        let target = self.asyncs[&qualified(service, function)].clone();
        let sqs = aws_sdk_sqs::Client::new(self.accounts.conf(service));
        self.tasks.push(tokio::spawn(poll_tap(
            sqs,
            queue_url.to_owned(),
            source,
            target,
        )));
    }

    /// A rule of `service`'s, on `bus` or else the default one: its ARN.
    async fn rule_arn(&self, service: &str, rule: &str, bus: &str) -> Result<String> {
        let events = kit::signed::json_protocol::JsonApi::new(
            self.accounts.conf(service),
            kit::signed::json_protocol::EVENTS,
        );
        for bus in [bus, "default"] {
            let body = serde_json::json!({"Name": rule, "EventBusName": bus});
            if let Ok(described) = events.call("DescribeRule", &body).await
                && let Some(arn) = described["Arn"].as_str()
            {
                return Ok(arn.to_owned());
            }
        }
        anyhow::bail!("rule {rule}: not on the bus {bus} nor on the default one")
    }

    pub(super) async fn start_stream(
        &mut self,
        service: &str,
        s: &devstack_template::adapt::StreamSource,
        deployed: &Deployed,
    ) -> Result<()> {
        let table = deployed.physical(&s.table)?;
        let conf = self.accounts.conf(service);
        let ddb = aws_sdk_dynamodb::Client::new(conf);
        let described = ddb.describe_table().table_name(table).send().await?;
        if let Some(stream) = described.table().and_then(|t| t.latest_stream_arn()) {
            let function = qualified(service, &s.function);
            if let Err(message) = self.judge.stream_reads(&function, stream).await {
                anyhow::bail!(
                    "{service}: the event-source mapping of {}: InvalidParameterValueException: {message}",
                    s.function
                );
            }
        }
        let poller = StreamPoller {
            function: self.functions[&qualified(service, &s.function)].clone(),
            table: table.to_owned(),
            batch_size: s.batch_size,
            bisect_on_error: s.bisect_on_error,
            max_retries: s.max_retries,
            on_failure_topic: match &s.on_failure_topic {
                Some(t) => Some(deployed.physical(t)?.to_owned()),
                None => None,
            },
            starting_position: if s.starting_position == "LATEST" {
                ShardIteratorType::Latest
            } else {
                ShardIteratorType::TrimHorizon
            },
            report_batch_item_failures: s.report_batch_item_failures,
            streams: aws_sdk_dynamodbstreams::Client::new(conf),
            ddb,
            sns: aws_sdk_sns::Client::new(conf),
            retry_delay: self.options.retry_delay,
            writes: Some(self.writes.clone()),
            judge: Some(self.judge.clone()),
        };
        self.tasks.push(tokio::spawn(poller.run()));
        Ok(())
    }
}
