//! The browser bench (`tests/tests/all/web_bench.rs`): completion →
//! congratulation rendered in a real browser. Run by `cargo xtask bench`
//! with release function binaries; prints a table.

#[path = "../tests/all/web_bench.rs"]
mod web_bench;

#[tokio::main]
async fn main() {
    web_bench::run().await;
}
