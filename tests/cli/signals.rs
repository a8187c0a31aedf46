//! What a signal to `streamspec run` does: SIGINT (Ctrl-C), SIGTERM (how CI systems cancel a
//! job), SIGHUP (a closed terminal) and SIGQUIT all stop the run, stop every service's whole
//! process group, and exit with 128 + the signal's number. A panic stops the services too.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::{Output, Test};

/// A spec directory whose service is a shell (the leader of the service's process group) that
/// starts a child holding the service's port; the shell writes both pids and the port. The first
/// test passes at once, the second waits on a silent endpoint until the run is stopped.
fn service_with_a_child() -> Test {
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "health" {
              GET {{base}}/health
              expect text "ok"
            }

            test "silence" {
              GET {{base}}/bad/silent
              expect sse { end }
            }
            "#,
        )
        .config(
            r#"
            [vars]
            base = "http://127.0.0.1:{{demo_port}}"

            [[services]]
            name = "demo"
            ports = ["demo_port"]
            command = ["sh", "-c", """
                echo $$ > leader.pid
                echo {{demo_port}} > port
                "$0" demo --listen 127.0.0.1:{{demo_port}} &
                echo $! > child.pid
                wait
            """, "{{streamspec}}"]
            ready = { http = "http://127.0.0.1:{{demo_port}}/health" }
            "#,
        )
        .args(["run"])
}

/// What the run printed before it was stopped.
const STOPPED_STDOUT: &str = "Running 2 tests from 1 file
  PASS [TIME] ./a.stream: health
Summary 1 test: 1 passed, 0 failed [TIME]
";

pub fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name))
        .unwrap_or_else(|error| panic!("the service wrote no {name}: {error}"))
        .trim()
        .to_string()
}

/// Whether a process is gone: no such pid, or a zombie (which runs nothing and holds no port).
pub fn is_gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
    }
}

pub fn port_is_free(port: &str) -> bool {
    std::net::TcpListener::bind(format!("127.0.0.1:{port}")).is_ok()
}

/// Polls `condition` for up to 10 s.
pub fn eventually(mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs the test, then checks that the service's group is gone and its port free (killing the
/// group if not, so that a failing test leaves nothing behind).
fn run_and_check_the_service_stopped(test: Test) -> Output {
    let output = test.run_unchecked();
    let dir = output.dir.path();
    let leader = read(dir, "leader.pid");
    let child = read(dir, "child.pid");
    let port = read(dir, "port");
    let stopped = eventually(|| is_gone(&leader) && is_gone(&child) && port_is_free(&port));
    if let Ok(group) = leader.parse::<libc::pid_t>() {
        // SAFETY: kill(2) has no memory-safety preconditions; a group that is gone is ignored.
        unsafe {
            libc::kill(-group, libc::SIGKILL);
        }
    }
    assert!(
        stopped,
        "the service (pid {leader}) or its child (pid {child}) outlived the run, or port {port} \
         is still bound\n\nstdout:\n{}\nstderr:\n{}",
        output.stdout, output.stderr
    );
    output
}

fn stopped_by(signal: libc::c_int, stderr: &str) {
    let test = service_with_a_child().signal_when_stdout_has("PASS", signal);
    let output = run_and_check_the_service_stopped(test);
    assert_eq!(
        (
            output.status,
            output.stdout.as_str(),
            output.stderr.as_str()
        ),
        (Some(128 + signal), STOPPED_STDOUT, stderr)
    );
}

#[test]
fn sigint_stops_the_services_and_their_children() {
    stopped_by(libc::SIGINT, "interrupted: 1 of 2 tests ran\n");
}

#[test]
fn sigterm_stops_the_services_and_their_children() {
    stopped_by(libc::SIGTERM, "stopped by SIGTERM: 1 of 2 tests ran\n");
}

#[test]
fn sighup_stops_the_services_and_their_children() {
    stopped_by(libc::SIGHUP, "stopped by SIGHUP: 1 of 2 tests ran\n");
}

#[test]
fn sigquit_stops_the_services_and_their_children() {
    stopped_by(libc::SIGQUIT, "stopped by SIGQUIT: 1 of 2 tests ran\n");
}

/// A panic of streamspec itself (provoked here through a variable only debug builds read) still
/// stops the services.
#[test]
#[cfg_attr(
    not(debug_assertions),
    ignore = "only debug builds can be made to panic"
)]
fn a_panic_stops_the_services_and_their_children() {
    let test = service_with_a_child().env("STREAMSPEC_DEBUG_PANIC_AFTER", "health");
    let output = run_and_check_the_service_stopped(test);
    assert_eq!(output.status, Some(101), "stderr:\n{}", output.stderr);
    assert!(
        output.stderr.contains("provoked panic after `health`"),
        "{}",
        output.stderr
    );
}
