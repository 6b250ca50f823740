//! What each service publishes and consumes: the `declarations` crate, a
//! module per team (`events/declarations/src/<service>.rs`).

pub use declarations::{Service, consumers, producer};

/// Every service's declaration, in `repo::SERVICES` order.
pub fn services() -> Vec<Service> {
    declarations::SERVICES.to_vec()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_service_is_declared_in_the_contracts_in_deploy_order() {
        let declared: Vec<&str> = super::services().iter().map(|s| s.name).collect();
        assert_eq!(
            declared,
            repo::SERVICES,
            "each service in repo::SERVICES has its declaration, a module of the declarations crate, \
             listed in declarations::SERVICES in the same order (cargo xtask new-service does both)"
        );
        for service in repo::SERVICES {
            assert!(
                repo::service_dir(service).is_dir(),
                "{service}: no services/{service}"
            );
        }
    }
}
