//! The composition: the one crate that reads a template's plan and wires
//! the pieces together. It boots the emulator, deploys the stacks
//! (`deploy`), each in its team's account (`accounts`), starts the functions and their event sources
//! (`devstack_lambda`), each as its own role, the gate every AWS call of a
//! function passes (`gate`, judged by `iam`), the fault proxies (`chaos`),
//! Step Functions on moto's interpreter
//! (`devstack_sfn`), the third-party sender's stand-in (`sender`), the
//! outside identity provider's (`federation`), the
//! web app (`web`), the console (`console`) and the control API, and
//! writes the endpoints file's content (`start`). `redeploy` is `devstack
//! deploy`'s server side, which plays a gradual deployment (`gradual`)
//! and its alarms (`alarms`).

pub mod accounts;
pub mod alarms;
pub mod bus_matcher;
pub mod call_gate;
pub mod chaos;
pub mod cognito;
pub mod conformance;
pub mod console;
pub mod custom_domain;
pub mod deploy;
pub mod failure;
pub mod federation;
pub mod gradual;
pub mod hooks;
pub mod iam;
pub mod invalidations;
pub mod protocol;
mod query_call;
pub mod redeploy;
pub mod sender;
pub mod stack_parameters;
pub mod start;
pub mod step_functions;
pub mod tls;
pub mod web;

/// How the local cloud treats a call IAM would refuse (`devstack up --iam`).
pub use devstack_iam::Mode as IamMode;
pub use start::{
    Detached, Options, Override, Running, default_environments, start, start_detached,
};
