//! Tests that need a tool beyond the Rust toolchain (Ruby's grpc gem for the interop test,
//! Perl's TAP::Parser for the TAP reports): where the tool is missing they are skipped, and say
//! so on the terminal with what to install; where `STREAMSPEC_REQUIRE_TOOLS` is set (as `.ci/run`
//! sets it, after installing them) a missing tool fails the test instead, so CI never skips.

use std::io::Write;

/// The variable that turns a skip into a failure.
pub const REQUIRE_TOOLS: &str = "STREAMSPEC_REQUIRE_TOOLS";

/// Whether the checks that need a tool should run: true when `missing` is empty. Otherwise
/// (`missing` says what this machine lacks, `install` how to get it) the test panics where tools
/// are required, and elsewhere prints a skip notice and gets false.
pub fn available(test: &str, missing: &[String], install: &str) -> bool {
    if missing.is_empty() {
        return true;
    }
    let missing: String = missing.iter().map(|m| format!("\n  - {m}")).collect();
    if std::env::var_os(REQUIRE_TOOLS).is_some_and(|value| !value.is_empty()) {
        panic!(
            "{test} needs what this machine lacks:{missing}\n{REQUIRE_TOOLS} is set, so it may \
             not be skipped: install it with `{install}` (as root, after `apt-get update`), as \
             .ci/run does."
        );
    }
    // Straight to the process's standard error: the test harness captures only what the print
    // macros write, and a skip must be seen even when the test passes.
    let _ = writeln!(
        std::io::stderr(),
        "note: {test} skipped, as this machine lacks:{missing}\n  install it with `{install}` \
         (as .ci/run does) to run it"
    );
    false
}
