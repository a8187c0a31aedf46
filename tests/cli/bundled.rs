//! The specs bundled in the repository's `specs/` directory, run by the real binary with their
//! own `streamspec.toml` (which starts the demo service), so that `cargo test` covers them.

use std::time::Duration;

use crate::support::Test;

#[test]
fn the_bundled_specs_pass() {
    let specs = concat!(env!("CARGO_MANIFEST_DIR"), "/specs");
    let output = Test::new()
        .args(["run", specs])
        .kill_after(Duration::from_secs(180))
        .run_unchecked();
    assert!(
        output.status == Some(0) && output.stderr.is_empty(),
        "`streamspec run {specs}` exited with {:?}\n\nstdout:\n{}\nstderr:\n{}",
        output.status,
        output.stdout,
        output.stderr
    );
    assert!(
        output.stdout.contains(" passed, 0 failed "),
        "no summary in:\n{}",
        output.stdout
    );
}

/// `specs/load`, as CI runs it: every test as many users at once against its own demo, judged
/// by the thresholds of its `streamspec.toml` (shortened here: the suite runs beside others).
#[test]
fn the_bundled_load_holds_its_thresholds() {
    let load = concat!(env!("CARGO_MANIFEST_DIR"), "/specs/load");
    let output = Test::new()
        .args(["load", load, "--duration", "5s"])
        .kill_after(Duration::from_secs(120))
        .run_unchecked();
    assert!(
        output.status == Some(0),
        "`streamspec load {load}` exited with {:?}\n\nstdout:\n{}\nstderr:\n{}",
        output.status,
        output.stdout,
        output.stderr
    );
    assert!(
        output.stdout.contains("\nthresholds\n") && !output.stdout.contains('✗'),
        "no thresholds judged in:\n{}",
        output.stdout
    );
    // The service the config started is measured beside the load.
    assert!(
        output.stdout.contains("\nservice demo: CPU mean "),
        "no service figures in:\n{}",
        output.stdout
    );
}
