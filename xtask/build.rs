//! Compiles every service's `contract.rs` into the tool by path, one module
//! per entry of `repo::SERVICES` (the one list of services), so a new
//! service is declared to the contract tools by being in that list.

use std::fmt::Write;
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut modules = String::new();
    let mut entries = String::new();
    for service in repo::SERVICES {
        let contract = root.join("services").join(service).join("src/contract.rs");
        let contract = contract.canonicalize().unwrap_or_else(|e| {
            panic!(
                "{}: {e} (every service in repo::SERVICES declares its contract there)",
                contract.display()
            )
        });
        println!("cargo::rerun-if-changed={}", contract.display());
        writeln!(
            modules,
            "#[path = {:?}]\npub mod {service};",
            contract.display().to_string()
        )
        .unwrap();
        writeln!(
            entries,
            "        Service {{ name: {service}::SERVICE, publishes: {service}::PUBLISHES, consumes: {service}::CONSUMES }},"
        )
        .unwrap();
    }
    let out = Path::new(&std::env::var("OUT_DIR").unwrap()).join("declared.rs");
    let text = format!(
        "{modules}\n/// Every service's place on the bus, in `repo::SERVICES` order.\npub fn services() -> Vec<Service> {{\n    vec![\n{entries}    ]\n}}\n"
    );
    std::fs::write(out, text).unwrap();
}
