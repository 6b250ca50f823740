//! What each service publishes and consumes: the `declarations` crate, a
//! module per team (`events/declarations/src/<service>.rs`).

pub use declarations::{Service, consumers, producer};

/// Every service's declaration, in the one list's order.
pub fn services() -> Vec<Service> {
    declarations::SERVICES.to_vec()
}

#[cfg(test)]
mod tests {
    /// The list writes the declarations crate's modules, so what can go
    /// wrong is a module that declares another name, or a folder under
    /// `services/` (a workspace member by the glob) left off the list.
    #[test]
    fn every_service_is_declared_under_its_name_and_every_folder_is_listed() {
        let declared: Vec<&str> = super::services().iter().map(|s| s.name).collect();
        assert_eq!(
            declared,
            repo::SERVICES,
            "each module of the declarations crate declares the service it is named for"
        );
        let root = repo::root();
        let mut folders: Vec<String> = std::fs::read_dir(root.join(repo::paths::SERVICES_DIR))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.join("Cargo.toml").exists())
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        folders.sort();
        let mut listed: Vec<String> = repo::SERVICES.iter().map(|s| s.to_string()).collect();
        listed.sort();
        assert_eq!(
            folders, listed,
            "every crate under services/ is in the one list (events/src/services.rs) and back"
        );
    }
}
