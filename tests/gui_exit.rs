//! A worker still running when the process ends is cancelled and waited for before
//! the libraries' exit handlers run (OpenBLAS frees its buffers in one: a face
//! detection still running then crashed the process). The test runs itself as a
//! child process that leaves a worker running and returns at once.
#![cfg(feature = "gui")]

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use ti2net::gui::worker::Worker;

const CHILD: &str = "TI2NET_EXIT_CHILD";

#[test]
fn a_worker_left_running_is_stopped_before_the_process_exits() {
    if let Ok(marker) = std::env::var(CHILD) {
        // The child: a worker busy until cancelled, then slow to finish, leaked.
        let w: Worker<()> = Worker::spawn(
            "ti2net-exit-test",
            || {},
            move |cancel: &AtomicBool, _| {
                while !cancel.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(5));
                }
                std::thread::sleep(Duration::from_millis(300));
                std::fs::write(&marker, "stopped").expect("write the marker");
            },
        )
        .expect("start the worker");
        std::mem::forget(w);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("stopped");
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_worker_left_running_is_stopped_before_the_process_exits",
            "--nocapture",
        ])
        .env(CHILD, &marker)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&marker).ok().as_deref(),
        Some("stopped"),
        "the process ended without stopping its worker"
    );
}
