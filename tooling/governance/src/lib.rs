//! Contract governance: what keeps the event contracts safe to change, for
//! `cargo xtask` to dispatch to. The committed schemas and their check
//! (`schemas`, `folders`), the generated documents (`asyncapi`,
//! `catalog_page`), who publishes and consumes what as the tools read it
//! (`declared`), a consumer's rule judged across a schema change (`rules`),
//! what a revision range changes (`changes`), the order teams ship it in
//! (`plan`) and whether one service may ship now (`can_i_deploy`).
//!
//! It reads git and the checkout through `repo`; it builds no SDK client
//! and no service.

pub mod asyncapi;
pub mod can_i_deploy;
pub mod catalog_page;
pub mod changes;
pub mod declared;
pub mod folders;
pub mod plan;
pub mod rules;
pub mod schemas;

// The checker's advice for an added enum value, followed end to end.
#[cfg(test)]
mod open_enum_advice;
