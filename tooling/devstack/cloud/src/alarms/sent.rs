//! A queue's `AWS/SQS` `NumberOfMessagesSent`, asked of the emulator's
//! CloudWatch as anyone would ask it (GetMetricStatistics), where the
//! engine records every message a queue is sent
//! (`_queues_count_what_is_sent`).

use aws_config::SdkConfig;
use kit::signed::Signer;

/// One queue's count of messages sent.
#[derive(Clone)]
pub struct Sent {
    signer: Signer,
    url: String,
    http: std::sync::Arc<kit::outbound::Client>,
    queue: String,
}

impl Sent {
    /// The queue at `queue_url`, in the account `conf` signs for.
    pub fn new(conf: &SdkConfig, queue_url: &str) -> Result<Sent, String> {
        let url = crate::query_call::url(conf)
            .ok_or("the local cloud's configuration names no emulator")?;
        let queue = (queue_url.rsplit('/').next())
            .filter(|q| !q.is_empty())
            .ok_or_else(|| format!("{queue_url}: not a queue's URL"))?;
        Ok(Sent {
            signer: Signer::new(conf, "monitoring"),
            url,
            http: std::sync::Arc::new(kit::outbound::Client::for_aws()),
            queue: queue.to_owned(),
        })
    }

    /// Every message the queue has been sent so far: the Sum over all time
    /// (one period wider than any run), so that the difference of two
    /// readings is what was sent between them, whatever second each fell in.
    pub async fn total(&self) -> Option<f64> {
        let end = (chrono::Utc::now() + chrono::Duration::days(1))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let params = [
            ("Action", "GetMetricStatistics"),
            ("Version", "2010-08-01"),
            ("Namespace", "AWS/SQS"),
            ("MetricName", "NumberOfMessagesSent"),
            ("Dimensions.member.1.Name", "QueueName"),
            ("Dimensions.member.1.Value", self.queue.as_str()),
            ("StartTime", "2000-01-01T00:00:00Z"),
            ("EndTime", end.as_str()),
            // A year: one datapoint holds everything of a run.
            ("Period", "31536000"),
            ("Statistics.member.1", "Sum"),
        ];
        let xml = crate::query_call::post(&self.signer, &self.http, &self.url, &params)
            .await
            .map_err(
                |e| tracing::warn!(queue = %self.queue, error = %e, "GetMetricStatistics failed"),
            )
            .ok()?;
        let sums = crate::query_call::texts(&xml, "Sum").ok()?;
        Some(sums.iter().filter_map(|s| s.parse::<f64>().ok()).sum())
    }
}
