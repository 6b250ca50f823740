//! AWS parity: every shape the local cloud hands a function or a client,
//! compared with AWS's own examples (`tooling/devstack/cloud/tests/fixtures/aws/`, see its README).
//!
//! The events are captured from a local cloud of this module's own, with
//! `Options::capture_dir` on: the runtime records each event exactly as
//! `/next` hands it to the function. The traffic goes through the system
//! itself (sign-up, todos, a presigned upload, a completion, a WebSocket, a
//! failing consumer and a poison stream record), so what is compared is
//! what the functions really got. The Lambda API's answers are checked
//! through the real `aws-sdk-lambda` client, which proves it parses them,
//! and their JSON against AWS's API reference.
//!
//! The comparison is of key sets and value types (string, number, bool,
//! object, array, null), recursively; each difference is named by its path
//! and kind. A difference is accepted only when a shape's allow-list names
//! it, with the reason; an allowance that no longer matches anything fails
//! too, so the lists stay true.
//!
//! `compare` holds the comparison and its allow-lists; `handed` the
//! cloud, its capture and the traffic that makes it; `events` the shapes
//! of what a function is handed; `invoke_api` the Lambda API's answers.

mod compare;
mod events;
mod handed;
mod invoke_api;
