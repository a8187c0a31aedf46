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
