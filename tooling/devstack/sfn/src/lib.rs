//! Step Functions played locally on moto's interpreter.
//!
//! - [`router`]: the "Lambda" moto's interpreter calls for a Lambda task
//!   (moto runs with `MOTO_PORT` naming it): Invoke goes to the local
//!   Lambda API, everything else to moto.
//! - [`machines`]: a stack's state machines made runnable on the
//!   interpreter.
//! - [`history`]: an execution's history as typed steps; [`render`]: the
//!   same as text.
//!
//! # What moto 5.2.5 did, observed with this crate's tests
//!
//! - CloudFormation creates a machine in the static backend, named
//!   `<stack>-<LogicalId>-<suffix>` when `StateMachineName` is absent; its
//!   physical id (and `Ref`) is the ARN. It ignores `LoggingConfiguration`
//!   (even with a `GetAtt` to a log group), `TracingConfiguration` and
//!   `StateMachineType`: DescribeStateMachine says `level: OFF`, tracing off,
//!   `STANDARD`, so those are what the interpreter's copy gets.
//! - With the interpreter on, DescribeStateMachine of that ARN answers
//!   `StateMachineDoesNotExist` and ListStateMachines is empty.
//!   CreateStateMachine with the read-back name, definition and role gives
//!   the same ARN, and StartExecution on it runs. moto's CreateStateMachine
//!   returns the existing machine when the name is taken (AWS answers
//!   `StateMachineAlreadyExists` for another definition), hence the update
//!   on a second call.
//! - `POST /moto-api/config` replaces the `stepfunctions` settings, so the
//!   switch is idempotent; `GET` does not show it. With the switch off the
//!   static backend answers SendTaskSuccess/Failure/Heartbeat with 200 and
//!   drops them: [`machines::make_runnable`] keeps the window short.
//! - The interpreter calls Lambda at `http://localhost:$MOTO_PORT`, the
//!   function named by its full ARN in the path; the router forwards it.

pub mod history;
pub mod listing;
pub mod machines;
pub mod render;
pub mod router;
