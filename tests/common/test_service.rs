//! The service that the tests of `streamspec.toml` services start, so that they need nothing
//! beyond the Rust toolchain: the test binary itself, run again with only its ignored test
//! [`test_service`] selected, which serves when [`PORT`] is set (see [`command`]).
//!
//! It listens on 127.0.0.1:`$TEST_SERVICE_PORT` and answers `GET /` and `GET /ok` with `200 ok`,
//! `GET /health` with the status `$HEALTH_STATUS` names (200 without it), and any other path with
//! `404`. On `GET /exit?code=N` it prints a last line to standard error and exits with code N
//! without answering; `GET /kill` kills it with SIGKILL. Once it listens it prints `serving` to
//! standard error and writes its pid to `$TEST_SERVICE_PID_FILE`, when that is set. It stops by
//! itself after [`LIFETIME`], should nothing stop it.

use std::io::Write;
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, Uri};
use axum::routing::get;

/// The port to listen on; without it the test does nothing (as when `--ignored` runs it).
pub const PORT: &str = "TEST_SERVICE_PORT";
/// Where to write the pid, once listening: written whole, then renamed into place.
pub const PID_FILE: &str = "TEST_SERVICE_PID_FILE";
/// The status of `GET /health`.
pub const HEALTH_STATUS: &str = "HEALTH_STATUS";
/// How long it serves at most: longer than any test that starts it.
const LIFETIME: Duration = Duration::from_secs(60);

/// The service's command in `streamspec.toml`, as a TOML array. The harness's own lines (`running
/// 1 test`) go to standard output, which is thrown away; what the service prints goes to standard
/// error. `exec` keeps the pid, so the pid written is the service's.
pub fn command() -> String {
    // `module_path!()` starts with the crate's name, which test names leave out.
    let module = module_path!()
        .split_once("::")
        .map_or("", |(_crate, module)| module);
    let exe = std::env::current_exe().expect("the test binary's path");
    toml::Value::Array(
        [
            "sh",
            "-c",
            "exec \"$0\" \"$1\" --exact --ignored --nocapture >/dev/null",
            &exe.to_string_lossy(),
            &format!("{module}::test_service"),
        ]
        .into_iter()
        .map(|arg| toml::Value::String(arg.to_string()))
        .collect(),
    )
    .to_string()
}

#[test]
#[ignore = "not a test: the service that the services tests start (see `command`)"]
fn test_service() {
    let Some(port) = std::env::var_os(PORT) else {
        return;
    };
    let port: u16 = port
        .to_str()
        .and_then(|port| port.parse().ok())
        .expect("TEST_SERVICE_PORT is a port number");
    let health = match std::env::var(HEALTH_STATUS) {
        Ok(status) => status.parse().expect("HEALTH_STATUS is a status code"),
        Err(_) => StatusCode::OK,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("listen on the service's port");
        say("serving");
        if let Some(path) = std::env::var_os(PID_FILE) {
            let path = std::path::PathBuf::from(path);
            let partial = path.with_extension("partial");
            std::fs::write(&partial, format!("{}\n", std::process::id())).expect("write the pid");
            std::fs::rename(&partial, &path).expect("put the pid file in place");
        }
        let router = Router::new()
            .route("/", get(|| async { "ok" }))
            .route("/ok", get(|| async { "ok" }))
            .route("/health", get(move || async move { (health, "ok") }))
            .route("/exit", get(exit))
            .route("/kill", get(kill));
        let _ =
            tokio::time::timeout(LIFETIME, axum::serve(listener, router.into_make_service())).await;
    });
}

/// `GET /exit?code=N`: a last word, then the exit, with the request unanswered.
async fn exit(uri: Uri) -> &'static str {
    let code = uri
        .query()
        .and_then(|query| query.strip_prefix("code="))
        .and_then(|code| code.parse().ok())
        .expect("/exit?code=N");
    say("fatal: lost the database connection");
    std::process::exit(code)
}

/// `GET /kill`: SIGKILL to itself, with the request unanswered.
async fn kill() -> &'static str {
    // SAFETY: kill(2) on this very process.
    unsafe {
        libc::kill(libc::getpid(), libc::SIGKILL);
    }
    "killed"
}

/// A line on the process's standard error, which the harness does not capture (it captures only
/// the print macros, and only without `--nocapture`, which the command gives for panics).
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}
