//! Memory per open stream (issue 12): what each of hundreds of named SSE subscriptions to a demo
//! channel adds to the peak resident memory of `streamspec run`, as benches/many_streams.sh
//! measures it in release. This measures the test build: 27 KB with mimalloc, 36 KB with the
//! system's allocator.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::servers;
use crate::support::BIN;

/// A test holding `streams` named subscriptions open, then checking every one got a message.
fn subscribers(streams: usize) -> String {
    format!(
        r#"
test "{streams} open streams" {{
  timeout 60s
  repeat {streams} {{
    GET {{{{base}}}}/channels/memory-{streams}/subscribe as sub
    expect sse {{ event: "subscribed" }}
  }}
  POST {{{{base}}}}/channels/memory-{streams}/publish
  body json {{ "note": "to every subscriber" }}
  expect status 200
  expect sse from sub {{ event: "message" }}
}}
"#
    )
}

/// The peak resident memory of `streamspec run` on `spec`, in KB, from wait4's rusage.
// The child is reaped by `wait4`, which clippy does not see (`Child::wait` gives no rusage).
#[allow(clippy::zombie_processes)]
fn peak_rss_kb(dir: &std::path::Path, spec: &str) -> i64 {
    let mut child = Command::new(BIN)
        .args([
            "run",
            "-j",
            "1",
            "--var",
            &format!("base={}", servers::demo()),
            spec,
        ])
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("streamspec starts");
    let pid = child.id() as libc::pid_t;
    // Polled, so a run that hangs is killed rather than hanging the suite (the spec's own
    // timeout should end it well before).
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let mut status = 0;
        // SAFETY: rusage is plain data, filled in by wait4.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: waits for our own child only, writing into the locals above.
        let waited = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        assert!(waited >= 0, "wait4 failed");
        if waited == pid {
            assert!(
                libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
                "{spec} failed (status {status})"
            );
            return usage.ru_maxrss;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{spec} did not finish within two minutes");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn an_open_stream_costs_under_32_kb() {
    const FEW: usize = 10;
    const MANY: usize = 400;
    let dir = tempfile::tempdir().expect("a temporary directory");
    for streams in [FEW, MANY] {
        std::fs::write(
            dir.path().join(format!("s{streams}.stream")),
            subscribers(streams),
        )
        .expect("the spec is written");
    }
    // The least of two runs of each: another test's load can only add to a figure.
    let least = |spec: &str| (0..2).map(|_| peak_rss_kb(dir.path(), spec)).min();
    let few = least(&format!("s{FEW}.stream")).unwrap_or_default();
    let many = least(&format!("s{MANY}.stream")).unwrap_or_default();
    let per_stream = (many - few) as f64 / (MANY - FEW) as f64;
    assert!(
        per_stream < 32.0,
        "an open stream costs {per_stream:.1} KB (peak RSS {few} KB with {FEW}, {many} KB with {MANY})"
    );
}
