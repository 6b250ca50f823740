//! What each service publishes and consumes, read from the one declaration
//! each team owns: `services/<service>/src/contract.rs`.
//!
//! Those files depend on `events` alone, so they are compiled into this tool
//! by path rather than through the service crates: depending on the services
//! would build their AWS SDK clients into `cargo xtask`, and with a feature
//! set of its own, a second copy of the SDK in every clean build.

use events::EventKey;

#[path = "../../services/users/src/contract.rs"]
pub mod users;

#[path = "../../services/todos/src/contract.rs"]
pub mod todos;

#[path = "../../services/notifications/src/contract.rs"]
pub mod notifications;

/// One service's place on the bus.
#[derive(Debug, Clone, Copy)]
pub struct Service {
    pub name: &'static str,
    pub publishes: &'static [EventKey],
    pub consumes: &'static [EventKey],
}

pub fn services() -> Vec<Service> {
    vec![
        Service {
            name: users::SERVICE,
            publishes: users::PUBLISHES,
            consumes: users::CONSUMES,
        },
        Service {
            name: todos::SERVICE,
            publishes: todos::PUBLISHES,
            consumes: todos::CONSUMES,
        },
        Service {
            name: notifications::SERVICE,
            publishes: notifications::PUBLISHES,
            consumes: notifications::CONSUMES,
        },
    ]
}

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
        assert_eq!(on_disk, declared, "add the new service's contract.rs above");
    }

    #[test]
    fn the_declared_services_are_the_repository_list_in_its_order() {
        let names: Vec<&str> = super::services().iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            repo::SERVICES,
            "declare the services here in repo::SERVICES order"
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
