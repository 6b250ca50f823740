//! The Lambda emulator, given a [`spec::Spec`] per function: the Runtime API
//! and process supervisor (`runtime`), async invoke with retries and the
//! DLQ (`invoke`, `dead_letter`), what it asks before it acts for a
//! function as AWS would (`judge`), the Invoke API (`lambda_api`), the event
//! sources (`sources`: rule and upload taps, stream pollers, woken by
//! `wake`), the environment a function starts with (`environment`) and the
//! trace recorder (`recorder`) with the EMF metrics it sums (`emf`). It
//! knows nothing of SAM or of the templates: the composition
//! (`devstack_cloud`) reads the plan and hands it specs.

pub mod dead_letter;
pub mod emf;
pub mod environment;
pub mod invoke;
pub mod lambda_api;
pub mod mappings;
pub mod on_behalf;
pub mod recorder;
pub mod runtime;
pub mod spec;
pub mod table_writes;
