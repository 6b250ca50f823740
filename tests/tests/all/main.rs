//! One integration-test binary for every cross-service tier (one link, not
//! one per file): contracts now; end to end and reliability beside it.

mod api;
mod campaigns;
mod contracts;
mod deploy;
mod docs;
mod e2e;
mod event_sources;
mod federation;
mod file_sizes;
mod flow;
mod gradual;
mod identity;
mod identity_pool;
mod infra;
mod layout;
mod load;
mod migration;
mod observability;
mod plan;
mod replay;
mod support;
mod web;
// The browser bench's body, built and linted with the tests; its own
// target (`benches/web.rs`) runs it.
#[allow(dead_code)]
mod web_bench;
mod websocket;
