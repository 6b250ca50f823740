//! What the system's tests (`tests/`) and the local cloud's own tests
//! (`tooling/devstack/cloud/tests/`) share, written once: a local cloud
//! kept for a whole test binary with the tests' options (`cloud`), the SDK
//! and signed-in API clients for it, a real headless Chromium (`browser`)
//! the event a bus rule delivers (`delivered`), and a browser's redirects
//! through managed login, followed by hand (`redirects`).

pub mod browser;
pub mod cloud;
pub mod delivered;
pub mod redirects;

pub use browser::Browser;
