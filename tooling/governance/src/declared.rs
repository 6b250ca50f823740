//! What each service publishes and consumes: the `contracts` crate, where
//! each team's declaration compiles from its service's folder
//! (`contract/declaration.rs`).

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
            "each service in repo::SERVICES has its declaration in its contract/declaration.rs, \
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
