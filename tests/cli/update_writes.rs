//! How `run --update` and `accept` write spec files: never over a change made since the run,
//! never half-written, and what could not be written is reported as not updated.

use crate::support::Test;
use crate::update::stable;

#[test]
fn an_expectation_changed_since_the_run_is_not_overwritten() {
    let test = Test::new();
    let path = test.path().join("a.stream");
    let output = test
        .spec(
            "a.stream",
            r#"
            test "touched" {
              GET {{base}}/touch?path={{path}}
              expect sse {
                data: json { "n": 9 }
              }
            }
            "#,
        )
        .args(["run", "--update=in-place", "a.stream"])
        .var("base", stable())
        .var("path", path.display().to_string())
        .run_unchecked();
    assert_eq!(output.status, Some(1));
    assert!(
        output
            .stdout
            .ends_with("not updated: a.stream:4: the spec changed there since the run\n"),
        "{}",
        output.stdout
    );
    let text = std::fs::read_to_string(&path).expect("the spec");
    assert!(
        text.contains("\"n\": 8"),
        "the other change is kept: {text}"
    );
}

#[test]
fn a_read_only_spec_is_reported_and_left_whole() {
    let test = Test::new().spec(
        "a.stream",
        r#"
        test "json" {
          GET {{base}}/json
          expect json { "version": 1 }
        }
        "#,
    );
    let path = test.path().join("a.stream");
    let mut permissions = std::fs::metadata(&path).expect("the spec").permissions();
    permissions.set_readonly(true);
    std::fs::set_permissions(&path, permissions).expect("make it read-only");
    let output = test
        .args(["run", "--update=in-place", "a.stream"])
        .var("base", stable())
        .run_unchecked();
    assert_eq!(output.status, Some(1));
    assert!(
        output
            .stdout
            .ends_with("not updated: a.stream: the file is read-only\n"),
        "{}",
        output.stdout
    );
    let text = std::fs::read_to_string(&path).expect("the spec");
    assert!(text.contains("\"version\": 1"));
}

/// `accept` does not undo an edit made to the spec after its pending update was written.
#[test]
fn accepting_a_pending_update_older_than_the_spec_is_refused() {
    let output = Test::new()
        .spec(
            "a.stream",
            r#"
            test "json" {
              GET {{base}}/json
              expect json { "version": 1 }
            }
            "#,
        )
        .args(["run", "--update=pending", "a.stream"])
        .var("base", stable())
        .run_unchecked();
    let spec = output.dir.path().join("a.stream");
    let pending = output.dir.path().join("a.stream.new");
    let written = std::fs::metadata(&pending)
        .and_then(|m| m.modified())
        .expect("the pending file");
    let edited = std::fs::OpenOptions::new()
        .append(true)
        .open(&spec)
        .expect("open the spec");
    edited
        .set_modified(written + std::time::Duration::from_secs(2))
        .expect("set the spec's time");
    let accept = std::process::Command::new(crate::support::BIN)
        .args(["accept", "a.stream"])
        .current_dir(output.dir.path())
        .output()
        .expect("run accept");
    let stderr = String::from_utf8_lossy(&accept.stderr);
    assert_eq!(accept.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("changed after its pending update was written"),
        "{stderr}"
    );
    assert!(pending.exists(), "the pending file stays for review");
}
