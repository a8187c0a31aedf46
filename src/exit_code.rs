//! The process exit codes, documented: scripts and CI rely on them.

/// Every test passed (and `check` found no problems).
pub const SUCCESS: i32 = 0;
/// At least one test failed.
pub const TEST_FAILED: i32 = 1;
/// The command line, a spec or a `streamspec.toml` is wrong: an unknown flag, a syntax error, a
/// failed static check, an invalid config.
pub const USAGE_ERROR: i32 = 2;
/// A service from `streamspec.toml` could not be started, a report or the output could not be
/// written in full (a full disk), the HTTP client could not be set up, or the open-file limit
/// leaves no room to start.
pub const SETUP_FAILED: i32 = 3;
/// The paths given hold no `.stream` files, or `--filter`/`--tag` select no test of them.
pub const NO_TESTS: i32 = 4;

/// A stop signal ended the run (see [`crate::stop_signals`]) and the services were stopped:
/// 128 + the signal's number, as a shell reports a process the signal ended (130 for Ctrl-C,
/// 143 for SIGTERM).
pub fn stopped_by(signal: libc::c_int) -> i32 {
    128 + signal
}
