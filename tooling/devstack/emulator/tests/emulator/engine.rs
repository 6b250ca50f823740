//! The engine: every emulator is a fork of one warm process, and forks
//! share nothing after the fork.

use devstack_emulator::engine::{Forked, fork};
use devstack_emulator::engine_socket;

/// The process that made `pid` (from `/proc/<pid>/stat`, whose fourth
/// field is the parent's pid; the second, the name, is in parentheses).
fn parent_of(pid: u32) -> u32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    after_name.split(' ').nth(1).unwrap().parse().unwrap()
}

async fn tables(forked: Forked) -> Vec<String> {
    let conf = kit::config::endpoint(&format!("http://127.0.0.1:{}", forked.port)).await;
    aws_sdk_dynamodb::Client::new(&conf)
        .list_tables()
        .send()
        .await
        .unwrap()
        .table_names
        .unwrap_or_default()
}

#[tokio::test]
async fn two_emulators_forked_from_one_engine_keep_their_resources_apart() {
    let socket = engine_socket().unwrap();
    let me = std::process::id();
    let a = fork(&socket, me, &[]).unwrap();
    let b = fork(&socket, me, &[]).unwrap();
    assert_ne!(a.port, b.port);
    assert_ne!(a.pid, b.pid);
    // Both are children of the same engine, which is not this process.
    let engine = parent_of(a.pid);
    assert_eq!(parent_of(b.pid), engine);
    assert_ne!(engine, me);

    let conf = kit::config::endpoint(&format!("http://127.0.0.1:{}", a.port)).await;
    devstack_emulator::create_service_table(&conf, "only-in-a").await;
    assert_eq!(tables(a).await, ["only-in-a"]);
    assert!(tables(b).await.is_empty(), "b sees a's table");
    // A third fork, made after a's write, starts from the engine's state,
    // not from a's.
    let c = fork(&socket, me, &[]).unwrap();
    assert!(tables(c).await.is_empty(), "a later fork sees a's table");
}
