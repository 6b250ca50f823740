//! The alias in front of a function's versions: one version takes every
//! invocation, or two share them by weight while a gradual deployment
//! shifts traffic (Lambda's `RoutingConfig.AdditionalVersionWeights`,
//! each invocation routed on its own), and what each version did, which
//! its deployment's alarms read (the `ExecutedVersion` dimension).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use super::Pool;
use super::outcome::{InvokeError, Outcome};

/// The alias's versions: the primary, and the staged one with its share.
pub(super) struct Routing {
    pub(super) primary: Arc<Pool>,
    staged: Option<(Arc<Pool>, f64)>,
}

/// Where an alias sends invocations: each version and its share (0 to 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Weights(pub Vec<(u32, f64)>);

#[derive(Debug, thiserror::Error)]
#[error(
    "version {0} is still being deployed: a deployment must end before the next starts (one per deployment group)"
)]
pub struct Deploying(pub u32);

impl Routing {
    pub(super) fn new(primary: Arc<Pool>) -> Self {
        Routing {
            primary,
            staged: None,
        }
    }

    /// The version for one invocation; `random` is drawn only while a
    /// version is staged (a syscall the invocation path otherwise skips).
    pub(super) fn pick(&self, random: impl FnOnce() -> u64) -> Arc<Pool> {
        match &self.staged {
            Some((pool, weight)) if below(random(), *weight) => pool.clone(),
            _ => self.primary.clone(),
        }
    }

    pub(super) fn stage(&mut self, pool: Arc<Pool>) -> Result<(), Deploying> {
        if let Some((staged, _)) = &self.staged {
            return Err(Deploying(staged.version));
        }
        self.staged = Some((pool, 0.0));
        Ok(())
    }

    pub(super) fn shift(&mut self, to: f64) {
        if let Some((_, weight)) = &mut self.staged {
            *weight = to.clamp(0.0, 1.0);
        }
    }

    /// The staged version becomes the primary: the old primary, to stop.
    pub(super) fn promote(&mut self) -> Option<Arc<Pool>> {
        let (staged, _) = self.staged.take()?;
        Some(std::mem::replace(&mut self.primary, staged))
    }

    /// The staged version leaves: it, to stop.
    pub(super) fn roll_back(&mut self) -> Option<Arc<Pool>> {
        self.staged.take().map(|(pool, _)| pool)
    }

    pub(super) fn weights(&self) -> Weights {
        let shifted = self.staged.as_ref().map(|(_, w)| *w).unwrap_or_default();
        let mut out = vec![(self.primary.version, 1.0 - shifted)];
        out.extend(self.staged.iter().map(|(p, w)| (p.version, *w)));
        Weights(out)
    }

    /// The version an invocation's qualifier names, if it runs here.
    pub(super) fn named(&self, q: &Qualifier, random: impl FnOnce() -> u64) -> Option<Arc<Pool>> {
        match q {
            Qualifier::Alias => Some(self.pick(random)),
            // `$LATEST` is the newest code: the staged version's, while
            // one is deployed.
            Qualifier::Latest => Some(
                self.staged
                    .as_ref()
                    .map_or_else(|| self.primary.clone(), |(p, _)| p.clone()),
            ),
            Qualifier::Version(n) => self.pools().into_iter().find(|p| p.version == *n),
        }
    }

    pub(super) fn pools(&self) -> Vec<Arc<Pool>> {
        let mut out = vec![self.primary.clone()];
        out.extend(self.staged.iter().map(|(p, _)| p.clone()));
        out
    }
}

/// Which version an invocation names (Lambda's `Qualifier`): the alias
/// (or no qualifier: here every event source invokes the function as its
/// alias), `$LATEST`, or a published version's number.
#[derive(Debug, Clone, PartialEq)]
pub enum Qualifier {
    Alias,
    Latest,
    Version(u32),
}

impl Qualifier {
    /// `qualifier` read for a function whose alias is `alias`; `None` for
    /// an alias or version it does not have. A function without an alias
    /// publishes no version (`AutoPublishAlias` does), so it has only
    /// `$LATEST`.
    pub fn read(qualifier: Option<&str>, alias: Option<&str>) -> Option<Qualifier> {
        match qualifier {
            None => Some(Qualifier::Alias),
            Some("$LATEST") => Some(Qualifier::Latest),
            Some(q) if Some(q) == alias => Some(Qualifier::Alias),
            Some(q) => alias.and(q.parse().ok()).map(Qualifier::Version),
        }
    }
}

/// Whether a uniformly random `u64` falls in the first `weight` of its range.
fn below(random: u64, weight: f64) -> bool {
    (random as f64) < weight * (u64::MAX as f64)
}

/// What one version did, as CloudWatch counts it for Lambda.
#[derive(Default)]
pub(super) struct Counts {
    invocations: AtomicU64,
    errors: AtomicU64,
    throttles: AtomicU64,
    /// Every invocation routed here, from before its environment is
    /// found, and every one that ended however it ended: what runs now is
    /// the difference.
    begun: AtomicU64,
    ended: AtomicU64,
}

/// One version's figures so far (the `ExecutedVersion` dimension's
/// `Invocations`, `Errors` and `Throttles`), and its environments.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionFigures {
    pub version: u32,
    pub invocations: u64,
    pub errors: u64,
    pub throttles: u64,
    pub environments: u32,
}

/// An invocation of a version under way: ended once dropped, however it
/// ended (a caller that stops waiting drops it too, so a cancelled one
/// never reads as running).
pub(super) struct Running<'a>(&'a Counts);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.ended.fetch_add(1, Ordering::SeqCst);
    }
}

impl Counts {
    pub(super) fn begin(&self) -> Running<'_> {
        self.begun.fetch_add(1, Ordering::SeqCst);
        Running(self)
    }

    /// How many have begun and how many of them have ended.
    pub(super) fn begun_and_ended(&self) -> (u64, u64) {
        let ended = self.ended.load(Ordering::SeqCst);
        (self.begun.load(Ordering::SeqCst), ended)
    }

    /// As CloudWatch does: a throttled invocation is no invocation, and an
    /// invocation ended by the local cloud stopping is not the function's.
    pub(super) fn record(&self, outcome: &Outcome) {
        match outcome {
            Err(InvokeError::Throttled) => self.throttles.fetch_add(1, Ordering::Relaxed),
            Err(InvokeError::Stopped) => return,
            Err(_) => self.errors.fetch_add(1, Ordering::Relaxed),
            Ok(_) => 0,
        };
        if !matches!(outcome, Err(InvokeError::Throttled)) {
            self.invocations.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(super) fn figures(&self, version: u32, environments: u32) -> VersionFigures {
        VersionFigures {
            version,
            invocations: self.invocations.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            throttles: self.throttles.load(Ordering::Relaxed),
            environments,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Qualifier, below};

    #[test]
    fn a_qualifier_is_the_alias_latest_or_a_published_version() {
        let live = Some("live");
        assert_eq!(Qualifier::read(None, live), Some(Qualifier::Alias));
        assert_eq!(Qualifier::read(Some("live"), live), Some(Qualifier::Alias));
        assert_eq!(
            Qualifier::read(Some("$LATEST"), live),
            Some(Qualifier::Latest)
        );
        assert_eq!(
            Qualifier::read(Some("3"), live),
            Some(Qualifier::Version(3))
        );
        assert_eq!(Qualifier::read(Some("prod"), live), None, "another alias");
        assert_eq!(
            Qualifier::read(Some("1"), None),
            None,
            "no version published"
        );
        assert_eq!(
            Qualifier::read(Some("$LATEST"), None),
            Some(Qualifier::Latest)
        );
    }

    #[test]
    fn a_weight_takes_its_share_of_the_random_range() {
        assert!(!below(0, 0.0), "no share takes nothing");
        assert!(below(u64::MAX - 1024, 1.0), "all of it takes everything");
        // The middle of each thousandth of the range.
        let taken = (0..1000u64)
            .filter(|i| below((2 * i + 1) * (u64::MAX / 2000), 0.1))
            .count();
        assert_eq!(taken, 100);
    }
}
