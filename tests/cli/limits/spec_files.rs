//! Which files are read as specs: regular files of at most 10 MiB. A named pipe used to hang
//! `check`, `fmt` and `run` (opening one for reading waits for a writer), and a link to
//! `/dev/zero` was read until the memory ran out; both are refused at once, before they are
//! opened for reading, as are sockets, links to directories and files that are too large. The
//! same holds for a `streamspec.toml` and for the body files a spec names.

#![cfg(unix)]

use std::path::Path;
use std::time::Duration;

use crate::support::Test;

/// Far more than any of these commands needs, far less than the suite's default: a hang fails
/// the test quickly.
const QUICKLY: Duration = Duration::from_secs(10);

/// The most a spec file may hold.
const MAX_SPEC_FILE_SIZE: u64 = 10 * 1024 * 1024;

const SPEC: &str = "test \"a\" {\n  GET http://127.0.0.1:9/\n}\n";

fn make_fifo(path: &Path) {
    let name = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("a C path");
    // SAFETY: mkfifo(3) with a valid NUL-terminated path.
    let result = unsafe { libc::mkfifo(name.as_ptr(), 0o600) };
    assert_eq!(result, 0, "mkfifo {}", path.display());
}

fn with_fifo(name: &str) -> Test {
    let test = Test::new();
    make_fifo(&test.path().join(name));
    test
}

#[test]
fn a_named_pipe_is_refused_by_check_fmt_and_run() {
    let error = "error: cannot read `a.stream`: it is a named pipe (FIFO), not a regular file\n";
    with_fifo("a.stream")
        .args(["check", "a.stream"])
        .kill_after(QUICKLY)
        .stderr(error)
        .status(2)
        .run();
    with_fifo("a.stream")
        .args(["fmt", "a.stream"])
        .kill_after(QUICKLY)
        .stderr(error)
        .status(2)
        .run();
    with_fifo("a.stream")
        .args(["run", "a.stream"])
        .kill_after(QUICKLY)
        .stderr(error)
        .status(2)
        .run();
}

#[test]
fn a_link_to_a_device_is_refused() {
    let test = Test::new();
    std::os::unix::fs::symlink("/dev/zero", test.path().join("a.stream")).expect("a symlink");
    test.args(["check", "a.stream"])
        .kill_after(QUICKLY)
        .stderr("error: cannot read `a.stream`: it is a character device, not a regular file\n")
        .status(2)
        .run();
}

#[test]
fn a_directory_search_refuses_what_is_not_a_regular_file_and_does_not_hang() {
    let test = Test::new()
        .file("a.stream", SPEC)
        .file("dir/c.stream", SPEC);
    make_fifo(&test.path().join("b.stream"));
    std::os::unix::fs::symlink("dir", test.path().join("d.stream")).expect("a symlink");
    let _socket =
        std::os::unix::net::UnixListener::bind(test.path().join("e.stream")).expect("a socket");
    test.args(["check", "."])
        .kill_after(QUICKLY)
        .stderr(
            "
            error: cannot read `./b.stream`: it is a named pipe (FIFO), not a regular file
            error: cannot read `./d.stream`: it is a directory, not a regular file
            error: cannot read `./e.stream`: it is a socket, not a regular file
            3 errors
            ",
        )
        .status(2)
        .run();
}

#[test]
fn a_spec_file_over_the_size_limit_is_refused() {
    let test = Test::new();
    let file = std::fs::File::create(test.path().join("a.stream")).expect("create");
    file.set_len(MAX_SPEC_FILE_SIZE + 1).expect("grow");
    let error = "error: cannot read `a.stream`: it is larger than 10 MiB, the limit for a spec or config file\n";
    test.args(["check", "a.stream"])
        .kill_after(QUICKLY)
        .stderr(error)
        .status(2)
        .run();
    let test = Test::new();
    let file = std::fs::File::create(test.path().join("a.stream")).expect("create");
    file.set_len(MAX_SPEC_FILE_SIZE + 1).expect("grow");
    test.args(["fmt", "a.stream"])
        .kill_after(QUICKLY)
        .stderr(error)
        .status(2)
        .run();
}

#[test]
fn pending_updates_that_are_not_regular_files_are_refused() {
    with_fifo("a.stream.new")
        .file("a.stream", SPEC)
        .args(["review", "."])
        .kill_after(QUICKLY)
        .stderr(
            "error: cannot read `./a.stream.new`: it is a named pipe (FIFO), not a regular file\n",
        )
        .stdout(
            "1 update pending: accept with `streamspec accept`, reject with `streamspec reject`",
        )
        .status(1)
        .run();
    let output = with_fifo("a.stream.new")
        .file("a.stream", SPEC)
        .args(["accept", "."])
        .kill_after(QUICKLY)
        .stderr(
            "error: cannot accept `./a.stream.new`: it is a named pipe (FIFO), not a regular file\n",
        )
        .status(1)
        .run();
    // The spec is left as it was.
    assert_eq!(
        std::fs::read_to_string(output.dir.path().join("a.stream")).expect("the spec"),
        SPEC
    );
}

#[test]
fn a_body_file_that_is_a_named_pipe_fails_the_test_at_once() {
    let test = Test::new().spec(
        "a.stream",
        r#"
        test "a" {
          POST http://127.0.0.1:9/
          body file "body.json"
          expect status 200
        }
        "#,
    );
    make_fifo(&test.path().join("body.json"));
    test.args(["run", "a.stream"])
        .kill_after(QUICKLY)
        .stdout(
            r#"
            Running 1 test from 1 file
             ERROR [TIME] a.stream: a

            error: cannot read body file `body.json`: it is a named pipe (FIFO), not a regular file
             --> a.stream:3:3
              |
            3 |   body file "body.json"
              |   ^^^^^^^^^^^^^^^^^^^^^ this body file

            Summary 1 test: 0 passed, 0 failed, 1 error [TIME]
             ERROR a.stream:1: a
            "#,
        )
        .status(1)
        .run();
}

#[test]
fn a_config_that_is_a_named_pipe_is_refused_not_skipped() {
    let test = Test::new().file("a.stream", SPEC);
    make_fifo(&test.path().join("streamspec.toml"));
    test.args(["check", "a.stream"])
        .kill_after(QUICKLY)
        .stderr("error: cannot read `./streamspec.toml`: it is a named pipe (FIFO), not a regular file\n")
        .status(2)
        .run();
}

/// `accept` reads a pending update as a spec is read: one over the size limit is refused, and
/// neither it nor the spec is changed.
#[test]
fn a_pending_update_over_the_size_limit_is_refused_by_accept() {
    let test = Test::new().file("a.stream", SPEC);
    let file = std::fs::File::create(test.path().join("a.stream.new")).expect("create");
    file.set_len(MAX_SPEC_FILE_SIZE + 1).expect("grow");
    let output = test
        .args(["accept", "."])
        .kill_after(QUICKLY)
        .stderr(
            "error: cannot accept `./a.stream.new`: it is larger than 10 MiB, the limit for a \
             spec or config file\n",
        )
        .status(1)
        .run();
    let dir = output.dir.path();
    assert_eq!(
        std::fs::read_to_string(dir.join("a.stream")).expect("the spec"),
        SPEC
    );
    let pending = std::fs::metadata(dir.join("a.stream.new")).expect("the pending update");
    assert_eq!(
        pending.len(),
        MAX_SPEC_FILE_SIZE + 1,
        "the pending update stays"
    );
}
