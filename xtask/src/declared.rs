//! What each service publishes and consumes, read from the one declaration
//! each team owns: `services/<service>/src/contract.rs`.
//!
//! Those files depend on `events` alone, so they are compiled into this tool
//! by path (`build.rs` writes one module per entry of `repo::SERVICES`)
//! rather than through the service crates: depending on the services
//! would build their AWS SDK clients into `cargo xtask`, and with a feature
//! set of its own, a second copy of the SDK in every clean build.

use events::EventKey;

/// One service's place on the bus.
#[derive(Debug, Clone, Copy)]
pub struct Service {
    pub name: &'static str,
    pub publishes: &'static [EventKey],
    pub consumes: &'static [EventKey],
}

include!(concat!(env!("OUT_DIR"), "/declared.rs"));

/// The service that publishes `key`, if any does.
pub fn producer<'a>(services: &'a [Service], key: &EventKey) -> Option<&'a Service> {
    services.iter().find(|s| s.publishes.contains(key))
}

/// The services that consume `key`, in declaration order.
pub fn consumers<'a>(services: &'a [Service], key: &EventKey) -> Vec<&'a Service> {
    services
        .iter()
        .filter(|s| s.consumes.contains(key))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    #[test]
    fn every_service_with_a_contract_is_declared_here() {
        let services = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../services");
        let on_disk: BTreeSet<String> = std::fs::read_dir(services)
            .unwrap()
            .flatten()
            .filter(|e| e.path().join("src/contract.rs").exists())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        let declared: BTreeSet<String> = super::services()
            .iter()
            .map(|s| s.name.to_owned())
            .collect();
        assert_eq!(
            on_disk, declared,
            "a service folder with a contract must be in repo::SERVICES (cargo xtask new-service does both)"
        );
    }

    #[test]
    fn every_published_event_has_one_producer_and_is_in_the_catalog() {
        let services = super::services();
        for spec in events::catalog() {
            let producers = services
                .iter()
                .filter(|s| s.publishes.contains(&spec.key))
                .count();
            assert_eq!(producers, 1, "{}", spec.key);
        }
        for s in &services {
            for key in s.publishes.iter().chain(s.consumes) {
                assert!(events::find(key).is_some(), "{}: {key}", s.name);
            }
        }
    }
}
