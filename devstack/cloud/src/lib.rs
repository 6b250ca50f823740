//! The composition: the one crate that reads a template's plan and wires
//! the pieces together. It boots the emulator, deploys the stacks
//! (`deploy`), starts the functions and their event sources
//! (`devstack_lambda`), the gateways (`devstack_gateway`), the proxies
//! (`bus_proxy`, `chaos`), Step Functions on moto's interpreter
//! (`devstack_sfn`), the third-party sender's stand-in (`sender`), the
//! web app (`web`) and the control API, and
//! writes the endpoints file's content (`start`). `redeploy` is `devstack
//! deploy`'s server side.

pub mod bus_proxy;
pub mod chaos;
pub mod cognito;
pub mod deploy;
pub mod redeploy;
pub mod sender;
pub mod start;
pub mod states;
pub mod web;

pub use start::{Detached, Options, Override, Running, start, start_detached};
