//! The client side of the local cloud: it drives a running cloud as any
//! outside tool does, through its endpoints file and HTTP only, and never
//! links the cloud. `walkthrough` (a user's journey and its helpers),
//! `load` (many users at once, then every effect accounted for; chaos
//! driven through the control API), `deploy` (`devstack deploy`'s build and
//! request), `cognito` (tokens from the local pool), `campaigns` (one
//! campaign to many recipients, timed), `burst` (many events at once for
//! one consumer, timed and accounted for).

pub mod burst;
pub mod campaigns;
pub mod cognito;
pub mod deploy;
pub mod load;
pub mod walkthrough;
