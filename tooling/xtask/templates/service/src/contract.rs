//! This service's name on the bus. What it publishes and consumes is
//! declared in `product/contracts/src/{{service}}.rs`, the one declaration the
//! template's rules, the contract tests and the deploy tools are checked
//! against.

pub const SERVICE: &str = "{{service}}";
