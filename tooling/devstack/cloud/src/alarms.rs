//! The alarms a gradual deployment watches, evaluated by the local cloud
//! as CloudWatch would, from what it records itself: Lambda's `Errors`,
//! `Throttles` and `Invocations` per version (the alias's figures), a
//! stream reader's `IteratorAge` (recorded by its poller), the functions'
//! own EMF metrics (kept by the recorder, a `version` dimension read as
//! the version being deployed; any statistic, a percentile too), and a
//! queue's depth (`ApproximateNumberOfMessagesVisible`, asked of the
//! emulator), and the messages a queue is sent (`NumberOfMessagesSent`,
//! asked of the emulator's CloudWatch: [`sent`]). One datapoint per
//! period, on the compressed clock; the alarm is in `ALARM` once enough
//! of its last periods breach.

pub mod sent;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use devstack_api::control::AlarmState;
use devstack_lambda::runtime::Function;
use devstack_template::adapt::RollbackAlarm;

/// Where an alarm's datapoints come from.
#[derive(Clone)]
pub enum Source {
    /// A Lambda metric of the version being deployed (`ExecutedVersion`,
    /// `newest`) or of all the alias's versions.
    Lambda {
        function: Function,
        newest: bool,
        metric: LambdaMetric,
    },
    /// A series the recorder keeps (a function's own EMF metric, or the
    /// `IteratorAge` its stream poller records) with these dimensions;
    /// `None` is the version being deployed. Each period's datapoint is
    /// the alarm's statistic of the values recorded in it.
    Recorded {
        function: Function,
        namespace: String,
        metric: String,
        dimensions: Vec<(String, Option<String>)>,
    },
    /// A queue's visible messages.
    Queue {
        sqs: aws_sdk_sqs::Client,
        url: String,
    },
    /// The messages a queue is sent: each datapoint is the period's.
    Sent(sent::Sent),
}

#[derive(Debug, Clone, Copy)]
pub enum LambdaMetric {
    Errors,
    Throttles,
    Invocations,
}

impl LambdaMetric {
    pub fn named(metric: &str) -> Option<Self> {
        match metric {
            "Errors" => Some(Self::Errors),
            "Throttles" => Some(Self::Throttles),
            "Invocations" => Some(Self::Invocations),
            _ => None,
        }
    }
}

/// Where a recorded source's values are: the recorder, the namespace, the
/// metric and the dimensions.
type RecordedSeries<'a> = (
    &'a devstack_lambda::emf::Recorded,
    &'a str,
    &'a str,
    Vec<(String, String)>,
);

/// One alarm being evaluated.
pub struct Watch {
    alarm: RollbackAlarm,
    /// The source, or why the local cloud cannot evaluate the alarm.
    source: Result<Source, String>,
    threshold: f64,
    period: Duration,
    next_due: Instant,
    /// A cumulative source's totals at the last datapoint (see
    /// [`Watch::totals`]): each datapoint is the period's difference.
    last: (f64, f64),
    /// How many of a recorded series' values earlier datapoints took.
    read: usize,
    /// The last `EvaluationPeriods` datapoints: breaching or not.
    recent: VecDeque<bool>,
    state: &'static str,
    reason: String,
}

impl Watch {
    /// `minute_ms`: how long a template minute lasts here.
    pub async fn new(
        alarm: RollbackAlarm,
        source: Result<Source, String>,
        minute_ms: u64,
    ) -> Watch {
        let period = Duration::from_millis(u64::from(alarm.period.max(1)) * minute_ms / 60);
        let threshold = alarm.threshold.parse().unwrap_or(0.0);
        let mut watch = Watch {
            threshold,
            period,
            next_due: Instant::now() + period,
            last: (0.0, 0.0),
            read: 0,
            recent: VecDeque::new(),
            state: "INSUFFICIENT_DATA",
            reason: "no datapoint yet".to_owned(),
            alarm,
            source,
        };
        if let Err(why) = &watch.source {
            watch.state = "NOT_EVALUATED";
            watch.reason = why.clone();
        }
        // What happened before the deployment began is no datapoint of it.
        watch.last = watch.totals().unwrap_or_default();
        if let Ok(Source::Sent(sent)) = &watch.source {
            watch.last.0 = sent.total().await.unwrap_or_default();
        }
        watch.read = watch
            .recorded()
            .map_or(0, |(r, ns, m, dims)| r.count(ns, m, &dims));
        watch
    }

    pub fn id(&self) -> &str {
        &self.alarm.id
    }

    /// How often it takes a datapoint here.
    pub fn period(&self) -> Duration {
        self.period
    }

    pub fn in_alarm(&self) -> bool {
        self.state == "ALARM"
    }

    pub fn state(&self) -> AlarmState {
        AlarmState {
            alarm: self.alarm.id.clone(),
            state: self.state.to_owned(),
            reason: self.reason.clone(),
        }
    }

    /// Takes a datapoint if its period has passed, and evaluates.
    pub async fn tick(&mut self) {
        if self.source.is_err() || Instant::now() < self.next_due {
            return;
        }
        self.next_due += self.period;
        self.evaluate().await;
    }

    /// Takes a datapoint now, of what happened since the last one, and
    /// evaluates: the deployment's last word, so nothing its new version
    /// did goes unread for ending between two periods.
    pub async fn close(&mut self) {
        if self.source.is_ok() {
            self.evaluate().await;
        }
    }

    async fn evaluate(&mut self) {
        let datapoint = self.datapoint().await;
        let breaching = match datapoint {
            Some(value) => {
                self.reason = format!(
                    "{} {} {value} over the last period",
                    self.alarm.statistic, self.alarm.metric
                );
                compare(&self.alarm.comparison, value, self.threshold).unwrap_or(false)
            }
            None => match self.alarm.missing.as_str() {
                "breaching" => true,
                "notBreaching" => false,
                // `missing` and `ignore`: the state stays as it is.
                _ => return,
            },
        };
        self.recent.push_back(breaching);
        while self.recent.len() > self.alarm.evaluation_periods.max(1) as usize {
            self.recent.pop_front();
        }
        let breached = self.recent.iter().filter(|b| **b).count() as u32;
        let was = self.state;
        self.state = if breached >= self.alarm.datapoints.max(1) {
            "ALARM"
        } else {
            "OK"
        };
        if self.state != was && self.state == "ALARM" {
            tracing::warn!(target: "trail", alarm = %self.alarm.id, reason = %self.reason, "alarm");
        }
    }

    /// The period's value, or `None` when there is no datapoint (a Lambda
    /// metric of a version that ran nothing in it).
    async fn datapoint(&mut self) -> Option<f64> {
        match self.source.as_ref().ok()? {
            Source::Queue { sqs, url } => {
                let got = sqs
                    .get_queue_attributes()
                    .queue_url(url)
                    .attribute_names(
                        aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages,
                    )
                    .send()
                    .await
                    .ok()?;
                let visible = got
                    .attributes()?
                    .get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)?;
                visible.parse().ok()
            }
            Source::Sent(sent) => {
                // Sent so far, less what was sent before the last
                // datapoint: what was sent in this period.
                let now = sent.total().await?;
                let value = (now - self.last.0).max(0.0);
                self.last.0 = now;
                Some(value)
            }
            Source::Lambda { .. } => {
                let now = self.totals()?;
                let (value, activity) = (now.0 - self.last.0, now.1 - self.last.1);
                self.last = now;
                (activity > 0.0 || value > 0.0).then_some(value)
            }
            Source::Recorded { .. } => {
                let (recorded, namespace, metric, dims) = self.recorded()?;
                let values = recorded.values_from(namespace, metric, &dims, self.read);
                self.read += values.len();
                statistic(&self.alarm.statistic, &values)
            }
        }
    }

    /// A recorded source's series: the recorder, namespace, metric and
    /// dimensions (the version being deployed named as its number).
    fn recorded(&self) -> Option<RecordedSeries<'_>> {
        let Source::Recorded {
            function,
            namespace,
            metric,
            dimensions,
        } = self.source.as_ref().ok()?
        else {
            return None;
        };
        let recorder = function.spec.recorder.as_ref()?;
        let newest = function.figures().iter().map(|f| f.version).max()?;
        let dims = (dimensions.iter())
            .map(|(name, value)| {
                let value = value.clone().unwrap_or_else(|| newest.to_string());
                (name.clone(), value)
            })
            .collect();
        Some((recorder.emf(), namespace, metric, dims))
    }

    /// A Lambda source's totals so far: its metric's, and the activity
    /// without which a period has no datapoint (the version's invocations
    /// and throttles).
    fn totals(&self) -> Option<(f64, f64)> {
        match self.source.as_ref().ok()? {
            Source::Lambda {
                function,
                newest,
                metric,
            } => {
                let figures = function.figures();
                let last = figures.iter().map(|f| f.version).max();
                let counted = (figures.iter()).filter(|f| !newest || Some(f.version) == last);
                Some(counted.fold((0.0, 0.0), |(n, i), f| {
                    let value = match metric {
                        LambdaMetric::Errors => f.errors,
                        LambdaMetric::Throttles => f.throttles,
                        LambdaMetric::Invocations => f.invocations,
                    };
                    (n + value as f64, i + (f.invocations + f.throttles) as f64)
                }))
            }
            Source::Recorded { .. } | Source::Queue { .. } | Source::Sent(_) => None,
        }
    }
}

/// Where the datapoints of `alarm` come from in the local cloud, or why
/// it cannot evaluate it: `function` finds a function of the stack by
/// logical id, `queue` a queue's URL.
pub fn source(
    alarm: &RollbackAlarm,
    own: &Function,
    function: impl Fn(&str) -> Option<Function>,
    queue: impl Fn(&str) -> Option<String>,
    conf: &aws_config::SdkConfig,
) -> Result<Source, String> {
    use devstack_template::adapt::Dimension;
    let what = format!("{} {}", alarm.namespace, alarm.metric);
    if compare(&alarm.comparison, 0.0, 0.0).is_none() {
        return Err(format!(
            "{what}: comparison {} is not played locally",
            alarm.comparison
        ));
    }
    let named = |want: fn(&Dimension) -> Option<&String>| {
        alarm.dimensions.iter().find_map(|(_, d)| want(d)).cloned()
    };
    // The URL of the queue a `QueueName` dimension names.
    let queue_url = || {
        let id = named(|d| match d {
            Dimension::Queue(id) => Some(id),
            _ => None,
        })
        .ok_or_else(|| format!("{what}: names no queue of the stack"))?;
        queue(&id).ok_or_else(|| format!("{what}: no queue {id}"))
    };
    match (alarm.namespace.as_str(), LambdaMetric::named(&alarm.metric)) {
        ("AWS/Lambda", Some(metric)) => {
            let id = named(|d| match d {
                Dimension::Alias(id) | Dimension::Function(id) => Some(id),
                _ => None,
            })
            .ok_or_else(|| format!("{what}: names no function of the stack"))?;
            let newest = (alarm.dimensions.iter()).any(|(_, d)| *d == Dimension::NewVersion);
            Ok(Source::Lambda {
                function: function(&id).ok_or_else(|| format!("{what}: {id} is not running"))?,
                newest,
                metric,
            })
        }
        ("AWS/Lambda", None) if alarm.metric == "IteratorAge" => {
            let id = named(|d| match d {
                Dimension::Function(id) => Some(id),
                _ => None,
            })
            .ok_or_else(|| format!("{what}: names no function of the stack"))?;
            let function = function(&id).ok_or_else(|| format!("{what}: {id} is not running"))?;
            if function.spec.recorder.is_none() {
                return Err(format!("{what}: this local cloud records no metrics"));
            }
            Ok(Source::Recorded {
                namespace: alarm.namespace.clone(),
                metric: alarm.metric.clone(),
                dimensions: vec![(
                    devstack_lambda::mappings::ITERATOR_AGE_DIMENSION.to_owned(),
                    Some(function.spec.name.clone()),
                )],
                function,
            })
        }
        ("AWS/SQS", _) if alarm.metric == "ApproximateNumberOfMessagesVisible" => {
            Ok(Source::Queue {
                sqs: aws_sdk_sqs::Client::new(conf),
                url: queue_url()?,
            })
        }
        ("AWS/SQS", _) if alarm.metric == "NumberOfMessagesSent" => {
            if alarm.statistic != "Sum" {
                return Err(format!(
                    "{what}: statistic {} is not played locally (Sum is)",
                    alarm.statistic
                ));
            }
            Ok(Source::Sent(sent::Sent::new(conf, &queue_url()?)?))
        }
        (namespace, _) if !namespace.starts_with("AWS/") => {
            // A function's own metric: the deploying function's output.
            let dimensions = (alarm.dimensions.iter())
                .map(|(name, d)| match d {
                    Dimension::Text(v) => Ok((name.clone(), Some(v.clone()))),
                    Dimension::NewVersion => Ok((name.clone(), None)),
                    _ => Err(format!(
                        "{what}: dimension {name} names nothing it can read"
                    )),
                })
                .collect::<Result<_, _>>()?;
            if own.spec.recorder.is_none() {
                return Err(format!("{what}: this local cloud records no metrics"));
            }
            if statistic(&alarm.statistic, &[0.0]).is_none() {
                return Err(format!(
                    "{what}: statistic {} is not played locally",
                    alarm.statistic
                ));
            }
            Ok(Source::Recorded {
                function: own.clone(),
                namespace: alarm.namespace.clone(),
                metric: alarm.metric.clone(),
                dimensions,
            })
        }
        _ => Err(format!("{what}: not recorded by the local cloud")),
    }
}

/// CloudWatch's statistic `name` (`Statistic`, or a percentile of
/// `ExtendedStatistic`) of one period's `values`; `None` for a period
/// without values (no datapoint) or a statistic the local cloud does not
/// play (trimmed means).
pub fn statistic(name: &str, values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let sum: f64 = values.iter().sum();
    Some(match name {
        "Sum" => sum,
        "SampleCount" => values.len() as f64,
        "Average" => sum / values.len() as f64,
        "Maximum" => values.iter().copied().fold(f64::MIN, f64::max),
        "Minimum" => values.iter().copied().fold(f64::MAX, f64::min),
        p => return devstack_lambda::emf::percentile(p, values),
    })
}

/// CloudWatch's `ComparisonOperator`s on a datapoint; `None` for one the
/// local cloud does not play (anomaly detection bands).
pub fn compare(operator: &str, value: f64, threshold: f64) -> Option<bool> {
    Some(match operator {
        "GreaterThanThreshold" => value > threshold,
        "GreaterThanOrEqualToThreshold" => value >= threshold,
        "LessThanThreshold" => value < threshold,
        "LessThanOrEqualToThreshold" => value <= threshold,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::{compare, statistic};

    #[test]
    fn a_periods_values_give_each_statistic_as_cloudwatch_does() {
        let values = [4.0, 1.0, 10.0, 5.0];
        assert_eq!(statistic("Sum", &values), Some(20.0));
        assert_eq!(statistic("Maximum", &values), Some(10.0));
        assert_eq!(statistic("Minimum", &values), Some(1.0));
        assert_eq!(statistic("Average", &values), Some(5.0));
        assert_eq!(statistic("SampleCount", &values), Some(4.0));
        assert_eq!(statistic("p99", &values), Some(10.0));
        assert_eq!(statistic("p50", &values), Some(4.0));
        assert_eq!(statistic("p99", &[]), None, "no values, no datapoint");
        assert_eq!(statistic("tm99", &values), None, "not played");
    }

    #[test]
    fn the_comparison_operators_compare_as_cloudwatch_does() {
        assert_eq!(compare("GreaterThanThreshold", 1.0, 0.0), Some(true));
        assert_eq!(compare("GreaterThanThreshold", 0.0, 0.0), Some(false));
        assert_eq!(
            compare("GreaterThanOrEqualToThreshold", 0.0, 0.0),
            Some(true)
        );
        assert_eq!(compare("LessThanThreshold", -1.0, 0.0), Some(true));
        assert_eq!(compare("AnomalyDetection", 5.0, 0.0), None, "not played");
    }
}
