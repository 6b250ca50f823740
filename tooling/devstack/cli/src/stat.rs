//! A measure across a bench's rounds: the median with its spread, what
//! every table of `devstack bench` shows.

use serde::{Deserialize, Serialize};

/// A measure across rounds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Stat {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub values: Vec<f64>,
}

impl Stat {
    pub fn of(values: Vec<f64>) -> Option<Self> {
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        Some(Self {
            median: median(&sorted)?,
            min: *sorted.first()?,
            max: *sorted.last()?,
            values,
        })
    }
}

/// The median of values already sorted.
pub fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}
