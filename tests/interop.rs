//! Interop with a gRPC server this project did not write: `streamspec run tests/interop/specs`
//! against the `grpc.testing.TestService` interop server of the grpc gem (Debian's ruby-grpc),
//! with the schema compiled from Debian's grpc-proto (the server has no reflection).
//!
//! The spec directory's `streamspec.toml` starts the server (`tests/interop/server.rb`) on a free
//! loopback port. When ruby, the gem or the protos are missing, the test is skipped and says what
//! to install, except where `STREAMSPEC_REQUIRE_TOOLS` is set (as `.ci/run` sets it): there it
//! fails instead, so CI never passes without having run the specs.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

#[path = "common/optional_tools.rs"]
mod optional_tools;

/// The binary under test.
const BIN: &str = env!("CARGO_BIN_EXE_streamspec");

/// What brings everything the specs need.
const INSTALL: &str = "apt-get install ruby-grpc grpc-proto";

/// Where grpc-proto puts the protos; `tests/interop/specs/streamspec.toml` names the same.
const PROTO_ROOT: &str = "/usr/share/grpc-proto";
const PROTOS: [&str; 3] = [
    "grpc/testing/test.proto",
    "grpc/testing/empty.proto",
    "grpc/testing/messages.proto",
];

/// The interop server inside the gem, as `tests/interop/server.rb` finds it.
const GEM_SERVER: &str = "src/ruby/pb/test/server.rb";

/// How long the whole run may take before it is interrupted and the test fails. The run takes a
/// few seconds; the bound is for a busy machine, and a hang still fails instead of hanging.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a run has to stop its services and exit after SIGINT, before SIGKILL.
const INTERRUPT_GRACE: Duration = Duration::from_secs(15);
/// How long the prerequisite checks (one `ruby -e`) may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(60);

/// Every test in the specs, by file: each must show `PASS`.
const EXPECTED: &[(&str, &[&str])] = &[
    (
        "unary.stream",
        &[
            "EmptyCall returns an empty message",
            "EmptyCall with the schema named by the test",
            "UnaryCall returns a payload of the size asked for",
            "UnaryCall with a 31415-byte reply, checked to the byte",
            "UnaryCall with a 314159-byte reply (the interop large_unary size)",
            "UnaryCall with size 0 replies with an empty body",
            "UnaryCall echoes the status it is asked for",
            "UnaryCall echoes a status message with whitespace and Unicode",
            "UnaryCall echoes other status codes",
            "UnaryCall echoes request metadata as reply metadata and trailers",
            "UnaryCall within a generous deadline",
            "UnimplementedCall is UNIMPLEMENTED",
            "a service the server does not have is UNIMPLEMENTED",
        ],
    ),
    (
        "server-streaming.stream",
        &[
            "StreamingOutputCall replies once per size, each of that size",
            "StreamingOutputCall with the interop sizes",
            "StreamingOutputCall with no sizes ends at once",
            "StreamingOutputCall with many small replies",
        ],
    ),
    (
        "client-streaming.stream",
        &[
            "StreamingInputCall adds up the payload sizes",
            "StreamingInputCall with no requests replies 0",
            "StreamingInputCall with sends and close inside a block",
            "StreamingInputCall cancelled before it closes",
            "StreamingInputCall cancelled after begin",
        ],
    ),
    (
        "bidi.stream",
        &[
            "FullDuplexCall ping-pong",
            "FullDuplexCall with sends and close inside a block",
            "FullDuplexCall closed at once ends with no reply",
            "FullDuplexCall echoes the status it is asked for",
            "FullDuplexCall fails with the asked status after earlier replies",
            "FullDuplexCall echoes request metadata as reply metadata and trailers",
            "FullDuplexCall cancelled after the first reply",
            "FullDuplexCall left open runs out of its deadline",
            "FullDuplexCall with a 1ms deadline",
        ],
    ),
];

#[test]
fn streamspec_passes_against_the_grpc_gems_interop_server() {
    let missing = missing_prerequisites();
    if !optional_tools::available("the gRPC interop test", &missing, INSTALL) {
        return;
    }

    let ran = run(
        Command::new(BIN)
            .args(["run", "tests/interop/specs"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("NO_COLOR", "1")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("CLICOLOR"),
        RUN_TIMEOUT,
    )
    .unwrap_or_else(|problem| panic!("`streamspec run tests/interop/specs`: {problem}"));
    let shown = format!(
        "exit status: {}\n\nstdout:\n{}\nstderr:\n{}",
        ran.status
            .map_or_else(|| "killed by a signal".to_string(), |c| c.to_string()),
        ran.stdout,
        ran.stderr
    );
    if ran.timed_out {
        panic!(
            "`streamspec run tests/interop/specs` took longer than {RUN_TIMEOUT:?} and was stopped\n\n{shown}"
        );
    }

    let mut problems = Vec::new();
    if ran.status != Some(0) {
        problems.push("the run did not exit with status 0".to_string());
    }
    let lines: Vec<&str> = ran.stdout.lines().collect();
    let mut count = 0;
    for (file, names) in EXPECTED {
        for name in names.iter() {
            count += 1;
            let suffix = format!("tests/interop/specs/{file}: {name}");
            let passed = lines.iter().any(|line| {
                let line = line.trim_start();
                line.starts_with("PASS [") && line.ends_with(&suffix)
            });
            if !passed {
                problems.push(format!("no `PASS` line for {file}: {name}"));
            }
        }
    }
    let summary = format!("Summary {count} tests: {count} passed, 0 failed");
    if !ran.stdout.contains(&summary) {
        problems.push(format!(
            "no `{summary}` line: the specs hold other tests than the {count} this test lists, \
             or some did not pass"
        ));
    }
    if !problems.is_empty() {
        panic!("{}\n\n{shown}", problems.join("\n"));
    }
}

/// What of ruby, the grpc gem's interop server and the grpc-proto files is missing, each said
/// with the package that brings it.
fn missing_prerequisites() -> Vec<String> {
    let mut missing = Vec::new();
    for proto in PROTOS {
        let path = Path::new(PROTO_ROOT).join(proto);
        if !path.is_file() {
            missing.push(format!("{} (from the grpc-proto package)", path.display()));
        }
    }
    // Prints the interop server's path, or exits 3 when the gem cannot be loaded.
    let script = format!(
        "begin; require 'grpc'; rescue LoadError => e; warn e.message; exit 3; end; \
         puts File.join(Gem::Specification.find_by_name('grpc').gem_dir, '{GEM_SERVER}')"
    );
    match run(Command::new("ruby").args(["-e", &script]), CHECK_TIMEOUT) {
        Err(problem) => missing.push(format!(
            "a working `ruby` on PATH (from the ruby-grpc package, which depends on ruby): {problem}"
        )),
        Ok(ran) if ran.timed_out => missing.push(format!(
            "an answer from `ruby -e \"require 'grpc'\"` within {CHECK_TIMEOUT:?}"
        )),
        Ok(ran) if ran.status == Some(3) => missing.push(format!(
            "the grpc gem, which ruby cannot load (from the ruby-grpc package): {}",
            ran.stderr.trim()
        )),
        Ok(ran) if ran.status != Some(0) => missing.push(format!(
            "the grpc gem: `ruby -e \"require 'grpc'\"` failed with status {:?}: {}",
            ran.status,
            ran.stderr.trim()
        )),
        Ok(ran) => {
            let server = ran.stdout.trim();
            if !Path::new(server).is_file() {
                missing.push(format!(
                    "the gem's interop server {server} (from the ruby-grpc package)"
                ));
            }
        }
    }
    missing
}

/// What a finished (or stopped) child printed.
struct Ran {
    status: Option<i32>,
    stdout: String,
    stderr: String,
    timed_out: bool,
}

/// Runs a command with stdin closed and its output collected. When it outlives `timeout` it
/// gets SIGINT (so that streamspec stops the services it started), then SIGKILL after
/// [`INTERRUPT_GRACE`]. Errs only when it cannot be started or waited for.
fn run(command: &mut Command, timeout: Duration) -> Result<Ran, String> {
    // The run must not see the suite's own streamspec settings.
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(|n| n.starts_with("STREAMSPEC_")) {
            command.env_remove(name);
        }
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("could not be started: {error}"))?;
    let pid = child.id();
    let stdout = read_in_background(child.stdout.take());
    let stderr = read_in_background(child.stderr.take());

    // A thread waits for the child to exit without reaping it (WNOWAIT), so that until
    // `child.wait()` below the pid stays the child's and a signal cannot reach another process.
    let (exited, exit) = mpsc::channel();
    std::thread::spawn(move || {
        // SAFETY: waitid(2) on our own child, with a zeroed siginfo_t for it to fill in.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let result = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        let _ = exited.send(result);
    });
    let mut timed_out = false;
    if exit.recv_timeout(timeout).is_err() {
        timed_out = true;
        // SAFETY: kill(2) on our own child, which is not reaped yet.
        unsafe {
            libc::kill(pid as libc::pid_t, libc::SIGINT);
        }
        if exit.recv_timeout(INTERRUPT_GRACE).is_err() {
            // SAFETY: as above.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGKILL);
            }
        }
    }
    let status = child
        .wait()
        .map_err(|error| format!("could not be waited for: {error}"))?;
    let collect = |receiver: mpsc::Receiver<Vec<u8>>| {
        // A grandchild that kept the pipe open must not hang the test either.
        let bytes = receiver
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| b"(not closed 10 s after the process exited)".to_vec());
        String::from_utf8_lossy(&bytes).into_owned()
    };
    Ok(Ran {
        status: status.code(),
        stdout: collect(stdout),
        stderr: collect(stderr),
        timed_out,
    })
}

/// Reads a pipe to its end on a thread.
fn read_in_background(pipe: Option<impl Read + Send + 'static>) -> mpsc::Receiver<Vec<u8>> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            let _ = pipe.read_to_end(&mut bytes);
        }
        let _ = sender.send(bytes);
    });
    receiver
}
