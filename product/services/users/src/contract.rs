//! This service's name on the bus. What it publishes and consumes is
//! declared in `product/contracts/src/users.rs`, the one declaration the template's
//! rules, the contract tests and the deploy tools are checked against.

pub const SERVICE: &str = "users";
