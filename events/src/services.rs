//! The one list of the services, each its own team's, in the order their
//! stacks deploy after the platform's. Every line Rust needs per service
//! (a module of event types here, a module and a declaration in
//! `declarations`) is written from it, and the tools read it as
//! `SERVICES`; `cargo xtask new-service` adds a name here and nowhere
//! else.

/// Hands the list to `$then`, a macro in scope where this is called, as
/// `$then! { users, todos, … }`.
#[macro_export]
macro_rules! each_service {
    ($then:ident) => {
        $then! { users, todos, notifications, campaigns }
    };
}
