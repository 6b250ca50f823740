//! Which events each service declares it consumes: the `contracts`
//! crate, compiled in, so that the ops CLI answers for the contracts it
//! was built with, also on a machine without the repository.

use std::collections::{BTreeMap, BTreeSet};

/// One kind of event on the bus: its source and detail-type.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Kind {
    pub source: String,
    pub detail_type: String,
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.source, self.detail_type)
    }
}

/// The contracts: service name to the kinds it consumes.
pub struct Contracts {
    consumes: BTreeMap<String, BTreeSet<Kind>>,
}

impl Contracts {
    /// The contracts this binary was built with.
    pub fn built_in() -> Contracts {
        Self::of(declarations::SERVICES)
    }

    /// What `services` declare they consume, by kind (every version of an
    /// event is one kind: its source and detail-type).
    pub fn of(services: &[declarations::Service]) -> Contracts {
        let mut consumes: BTreeMap<String, BTreeSet<Kind>> = BTreeMap::new();
        for s in services {
            let kinds = consumes.entry(s.name.to_owned()).or_default();
            for key in s.consumes {
                kinds.insert(Kind {
                    source: key.source.to_owned(),
                    detail_type: key.detail_type.to_owned(),
                });
            }
        }
        Contracts { consumes }
    }

    /// What `service` consumes; empty for a service that consumes nothing.
    pub fn consumed_by(&self, service: &str) -> BTreeSet<Kind> {
        self.consumes.get(service).cloned().unwrap_or_default()
    }

    /// The services whose contracts declare `kind`.
    pub fn consumers_of(&self, kind: &Kind) -> Vec<&str> {
        self.consumes
            .iter()
            .filter(|(_, kinds)| kinds.contains(kind))
            .map(|(s, _)| s.as_str())
            .collect()
    }

    /// Every declared producer → consumer edge, as (kind, consumer).
    pub fn edges(&self) -> Vec<(Kind, String)> {
        self.consumes
            .iter()
            .flat_map(|(s, kinds)| kinds.iter().map(move |k| (k.clone(), s.clone())))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(source: &str, detail_type: &str) -> Kind {
        Kind {
            source: source.into(),
            detail_type: detail_type.into(),
        }
    }

    #[test]
    fn the_built_in_contracts_name_what_campaigns_consumes() {
        let c = Contracts::built_in();
        let campaigns = c.consumed_by("campaigns");
        assert!(campaigns.contains(&kind("app.users", "UserRegistered")));
        assert!(campaigns.contains(&kind("app.users", "UserDeleted")));
        assert!(!campaigns.contains(&kind("app.todos", "TodoCompleted")));
        assert!(
            c.consumed_by("users").is_empty()
                || !c
                    .consumed_by("users")
                    .contains(&kind("app.users", "UserRegistered"))
        );
    }

    #[test]
    fn a_publish_operation_is_not_a_consumption() {
        let c = Contracts::built_in();
        assert!(
            !c.consumers_of(&kind("app.campaigns", "CampaignDelivered"))
                .contains(&"campaigns")
        );
        assert!(
            c.consumers_of(&kind("app.campaigns", "CampaignDelivered"))
                .contains(&"notifications")
        );
    }
}
