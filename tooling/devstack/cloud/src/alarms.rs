//! The alarms a gradual deployment watches, evaluated by the local cloud
//! as CloudWatch would, from what it records itself: Lambda's `Errors`,
//! `Throttles` and `Invocations` per version (the alias's figures), the
//! functions' own EMF metrics (summed by the recorder, a `version`
//! dimension read as the version being deployed), and a queue's depth
//! (`ApproximateNumberOfMessagesVisible`, asked of the emulator). One datapoint per period, on the compressed clock; the
//! alarm is in `ALARM` once enough of its last periods breach.

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
    /// A function's own metric (EMF) with these dimensions; `None` is the
    /// version being deployed.
    Emf {
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

/// One alarm being evaluated.
pub struct Watch {
    alarm: RollbackAlarm,
    /// The source, or why the local cloud cannot evaluate the alarm.
    source: Result<Source, String>,
    threshold: f64,
    period: Duration,
    next_due: Instant,
    /// A Lambda metric's running totals (count, invocations) at the last
    /// datapoint: each datapoint is the period's difference.
    totals: (u64, u64),
    /// An EMF source's sum at the last datapoint.
    emf_total: f64,
    /// The last `EvaluationPeriods` datapoints: breaching or not.
    recent: VecDeque<bool>,
    state: &'static str,
    reason: String,
}

impl Watch {
    /// `minute_ms`: how long a template minute lasts here.
    pub fn new(alarm: RollbackAlarm, source: Result<Source, String>, minute_ms: u64) -> Watch {
        let period = Duration::from_millis(u64::from(alarm.period.max(1)) * minute_ms / 60);
        let threshold = alarm.threshold.parse().unwrap_or(0.0);
        let mut watch = Watch {
            threshold,
            period,
            next_due: Instant::now() + period,
            totals: (0, 0),
            emf_total: 0.0,
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
        watch.totals = watch.lambda_totals().unwrap_or_default();
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
        let datapoint = self.datapoint().await;
        let breaching = match datapoint {
            Some(value) => {
                self.reason = format!(
                    "{} {} {value} over the last period",
                    self.alarm.statistic, self.alarm.metric
                );
                compare(&self.alarm.comparison, value, self.threshold)
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
            Source::Emf {
                function,
                namespace,
                metric,
                dimensions,
            } => {
                let recorder = function.spec.recorder.as_ref()?;
                let newest = function.figures().iter().map(|f| f.version).max()?;
                let dims: Vec<(String, String)> = (dimensions.iter())
                    .map(|(name, value)| {
                        let value = value.clone().unwrap_or_else(|| newest.to_string());
                        (name.clone(), value)
                    })
                    .collect();
                let now = recorder.emf().sum(namespace, metric, &dims);
                let last = std::mem::replace(&mut self.emf_total, now);
                (now > last).then_some(now - last)
            }
            Source::Lambda { .. } => {
                let now = self.lambda_totals()?;
                let (count, invocations) = (now.0 - self.totals.0, now.1 - self.totals.1);
                self.totals = now;
                (invocations > 0 || count > 0).then_some(count as f64)
            }
        }
    }

    /// A Lambda source's totals so far: its metric, and invocations.
    fn lambda_totals(&self) -> Option<(u64, u64)> {
        let Ok(Source::Lambda {
            function,
            newest,
            metric,
        }) = &self.source
        else {
            return None;
        };
        let figures = function.figures();
        let last = figures.iter().map(|f| f.version).max();
        let counted = figures
            .iter()
            .filter(|f| !newest || Some(f.version) == last);
        Some(counted.fold((0, 0), |(n, i), f| {
            let value = match metric {
                LambdaMetric::Errors => f.errors,
                LambdaMetric::Throttles => f.throttles,
                LambdaMetric::Invocations => f.invocations,
            };
            (n + value, i + f.invocations + f.throttles)
        }))
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
    sqs: &aws_sdk_sqs::Client,
) -> Result<Source, String> {
    use devstack_template::adapt::Dimension;
    let what = format!("{} {}", alarm.namespace, alarm.metric);
    if !compare(&alarm.comparison, 0.0, 0.0) && !compare(&alarm.comparison, 1.0, 0.0) {
        return Err(format!(
            "{what}: comparison {} is not played locally",
            alarm.comparison
        ));
    }
    let named = |want: fn(&Dimension) -> Option<&String>| {
        alarm.dimensions.iter().find_map(|(_, d)| want(d)).cloned()
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
        ("AWS/SQS", _) if alarm.metric == "ApproximateNumberOfMessagesVisible" => {
            let id = named(|d| match d {
                Dimension::Queue(id) => Some(id),
                _ => None,
            })
            .ok_or_else(|| format!("{what}: names no queue of the stack"))?;
            Ok(Source::Queue {
                sqs: sqs.clone(),
                url: queue(&id).ok_or_else(|| format!("{what}: no queue {id}"))?,
            })
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
            Ok(Source::Emf {
                function: own.clone(),
                namespace: alarm.namespace.clone(),
                metric: alarm.metric.clone(),
                dimensions,
            })
        }
        _ => Err(format!("{what}: not recorded by the local cloud")),
    }
}

/// CloudWatch's `ComparisonOperator`s on a datapoint.
pub fn compare(operator: &str, value: f64, threshold: f64) -> bool {
    match operator {
        "GreaterThanThreshold" => value > threshold,
        "GreaterThanOrEqualToThreshold" => value >= threshold,
        "LessThanThreshold" => value < threshold,
        "LessThanOrEqualToThreshold" => value <= threshold,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::compare;

    #[test]
    fn the_comparison_operators_compare_as_cloudwatch_does() {
        assert!(compare("GreaterThanThreshold", 1.0, 0.0));
        assert!(!compare("GreaterThanThreshold", 0.0, 0.0));
        assert!(compare("GreaterThanOrEqualToThreshold", 0.0, 0.0));
        assert!(compare("LessThanThreshold", -1.0, 0.0));
        assert!(!compare("AnomalyDetection", 5.0, 0.0), "unknown: never");
    }
}
