//! Who publishes and who consumes what on the bus, typed: each service's
//! declaration (the events it publishes and consumes, each at its
//! version), one module per team, which that team owns (CODEOWNERS). It
//! knows `events` only: the contract tools (xtask), ops and the tests
//! depend on it by name, and no service does, so a declaration changes no
//! service's build.

use events::EventKey;

pub use carried::Carried;

pub mod carried;

/// One service's place on the bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    pub name: &'static str,
    pub publishes: &'static [EventKey],
    pub consumes: &'static [EventKey],
}

// A module per service, which its team owns, from the one list
// (`events::each_service!`).
macro_rules! service_declarations {
    ($($service:ident),*) => {
        $(pub mod $service;)*

        /// Every service's declaration, in the one list's order (the order
        /// the stacks deploy in).
        pub const SERVICES: &[Service] = &[$($service::DECLARATION),*];
    };
}
events::each_service!(service_declarations);

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
    use super::*;

    #[test]
    fn every_published_event_has_one_producer_and_is_in_the_catalog() {
        for spec in events::catalog() {
            let producers = SERVICES
                .iter()
                .filter(|s| s.publishes.contains(&spec.key))
                .count();
            assert_eq!(producers, 1, "{}", spec.key);
        }
        for s in SERVICES {
            for key in s.publishes.iter().chain(s.consumes) {
                assert!(events::find(key).is_some(), "{}: {key}", s.name);
            }
        }
    }

    #[test]
    fn a_services_events_find_their_producer_and_consumers() {
        let delivered = campaigns::DECLARATION.publishes[0];
        assert_eq!(
            producer(SERVICES, &delivered).map(|s| s.name),
            Some("campaigns")
        );
        let names: Vec<&str> = consumers(SERVICES, &delivered)
            .iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, ["notifications"]);
    }
}
