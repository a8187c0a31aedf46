//! What a service leaves outside its process group: a daemon it started (a double fork and
//! `setsid`, out of reach of a signal to the group) is stopped with the services, when the run
//! ends and when a stop signal ends it; and a service dies with streamspec even when streamspec
//! is killed with SIGKILL, which nothing can catch.

use crate::signals::{eventually, is_gone, port_is_free, read};
use crate::support::{Output, Test};

/// A spec directory whose service is the demo server, started by a shell that first leaves a
/// daemon behind: a `sleep` in a session of its own whose parent has exited. The daemon writes
/// its pid, and the shell waits for that (for at most 5 s) before it becomes the server, which
/// writes its pid and port. The first test passes at once, the second waits on a silent endpoint
/// until the run is stopped.
fn service_that_leaves_a_daemon() -> Test {
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "health" {
              GET {{base}}/health
              expect text "ok"
            }
            "#,
        )
        .spec(
            "b.stream",
            r#"
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
                (setsid sh -c 'echo $$ > daemon.pid; exec sleep 300' </dev/null >/dev/null 2>&1 &)
                i=0
                while [ ! -s daemon.pid ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i+1)); done
                echo $$ > leader.pid
                echo {{demo_port}} > port
                exec "$0" demo --listen 127.0.0.1:{{demo_port}}
            """, "{{streamspec}}"]
            ready = { http = "http://127.0.0.1:{{demo_port}}/health" }
            "#,
        )
}

/// Kills what a failing test would leave behind: the daemon and the service's group.
fn kill_leftovers(output: &Output) {
    for (name, target) in [("daemon.pid", 1), ("leader.pid", -1)] {
        let pid = std::fs::read_to_string(output.dir.path().join(name)).unwrap_or_default();
        if let Ok(pid) = pid.trim().parse::<libc::pid_t>()
            && pid > 0
        {
            // SAFETY: kill(2) has no memory-safety preconditions; a process that is gone is
            // ignored.
            unsafe {
                libc::kill(target * pid, libc::SIGKILL);
            }
        }
    }
}

/// Asserts that the daemon is gone (waiting for it a while), after the run in `output`.
fn assert_the_daemon_is_gone(output: &Output) {
    let daemon = read(output.dir.path(), "daemon.pid");
    let gone = eventually(|| is_gone(&daemon));
    kill_leftovers(output);
    assert!(
        gone,
        "the daemon (pid {daemon}) outlived the run\n\nstdout:\n{}\nstderr:\n{}",
        output.stdout, output.stderr
    );
}

#[test]
fn a_daemon_a_service_started_is_stopped_when_the_run_ends() {
    let output = service_that_leaves_a_daemon()
        .args(["run", "a.stream"])
        .run_unchecked();
    assert_the_daemon_is_gone(&output);
    assert_eq!(output.status, Some(0), "stderr:\n{}", output.stderr);
}

#[test]
fn a_daemon_a_service_started_is_stopped_when_a_signal_stops_the_run() {
    let output = service_that_leaves_a_daemon()
        .args(["run", "a.stream", "b.stream", "-j", "1"])
        .signal_when_stdout_has("PASS", libc::SIGTERM)
        .run_unchecked();
    assert_the_daemon_is_gone(&output);
    assert_eq!(
        (output.status, output.stderr.as_str()),
        (Some(143), "stopped by SIGTERM: 1 of 2 tests ran\n")
    );
}

#[test]
fn a_service_dies_with_streamspec_killed_by_sigkill() {
    // SIGKILL cannot be caught: nothing in streamspec runs after it. The kernel kills the
    // service, the process streamspec started, when its parent dies.
    let output = service_that_leaves_a_daemon()
        .args(["run", "a.stream", "b.stream", "-j", "1"])
        .signal_when_stdout_has("PASS", libc::SIGKILL)
        .run_unchecked();
    let dir = output.dir.path();
    let (leader, port) = (read(dir, "leader.pid"), read(dir, "port"));
    let stopped = eventually(|| is_gone(&leader) && port_is_free(&port));
    kill_leftovers(&output);
    assert!(
        stopped,
        "the service (pid {leader}) outlived streamspec, or port {port} is still bound"
    );
    assert_eq!(output.status, None, "killed by the signal");
}

/// A panic of streamspec itself (provoked here through a variable only debug builds read) still
/// stops the daemon.
#[test]
#[cfg_attr(
    not(debug_assertions),
    ignore = "only debug builds can be made to panic"
)]
fn a_daemon_a_service_started_is_stopped_when_streamspec_panics() {
    let output = service_that_leaves_a_daemon()
        .args(["run", "a.stream", "b.stream", "-j", "1"])
        .env("STREAMSPEC_DEBUG_PANIC_AFTER", "health")
        .run_unchecked();
    assert_the_daemon_is_gone(&output);
    assert_eq!(output.status, Some(101), "stderr:\n{}", output.stderr);
}

#[test]
fn an_orphan_that_exits_while_the_services_run_is_reaped() {
    // streamspec is the parent of what its services orphan, so it must reap them as init would:
    // a zombie holds its pid for as long as the run lasts. The service looks for itself before
    // it becomes the server, and writes what it saw.
    let output = Test::new()
        .spec(
            "a.stream",
            r#"
            test "health" {
              GET {{base}}/health
              expect text "ok"
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
                (sh -c 'echo $$ > orphan.pid' &)
                i=0
                while [ ! -s orphan.pid ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i+1)); done
                orphan=$(cat orphan.pid)
                i=0
                while [ -e /proc/$orphan ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i+1)); done
                if [ -e /proc/$orphan ]; then echo left > orphan.state; else echo reaped > orphan.state; fi
                exec "$0" demo --listen 127.0.0.1:{{demo_port}}
            """, "{{streamspec}}"]
            ready = { http = "http://127.0.0.1:{{demo_port}}/health" }
            start_timeout = "30s"
            "#,
        )
        .args(["run", "a.stream"])
        .kill_after(std::time::Duration::from_secs(40))
        .run_unchecked();
    assert_eq!(output.status, Some(0), "stderr:\n{}", output.stderr);
    assert_eq!(read(output.dir.path(), "orphan.state"), "reaped");
}
