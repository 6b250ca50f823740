//! API Gateway played locally: the HTTP API (`http`: routes, CORS and the
//! JWT authorizer, payload 2.0) and the WebSocket API (`websocket`: the
//! `$connect` authorizer contract, route selection, `@connections`, AWS's
//! limits). Each is given its own spec and the functions to call; neither
//! knows SAM. Both run their requests through a `stage`: its throttle and
//! its access log. Each invocation is judged by the function's policy
//! (`permission`), as API Gateway's are.

pub mod http;
pub mod permission;
pub mod stage;
pub mod websocket;

pub use http::{Authorizer, Cors, Gateway, RouteTarget, router};
pub use stage::{Sink, Stage, Throttle};
