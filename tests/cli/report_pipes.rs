//! Report files that are named pipes: one that a process reads gets the report, in place; one
//! that nothing reads is an error before the run starts (never a wait without end), and a reader
//! that stops reading never keeps a stop signal from ending the run.

use std::fs::File;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use crate::servers;
use crate::support::{Test, all_passed};

/// Each report file flag, and how its report begins.
const REPORT_FLAGS: [(&str, &str); 3] = [
    ("--report-json", "{\"type\":\"run_started\""),
    ("--report-tap", "TAP version 13"),
    ("--report-junit", "<?xml"),
];

/// `streamspec run a.stream` with a test that passes, `repeat` times.
fn passing_run(repeat: u32) -> Test {
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
        .args(["run", "a.stream", "--repeat", &repeat.to_string()])
        .var("base", servers::demo())
}

fn mkfifo(path: &Path) {
    let c_path = std::ffi::CString::new(path.to_str().expect("a UTF-8 path")).expect("a C string");
    // SAFETY: mkfifo(3) with a valid C string.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o644) }, 0, "mkfifo");
}

/// The reading end of the named pipe, open (so a writer finds a reader) without waiting for a
/// writer; reads never wait either.
fn open_reader(path: &Path) -> File {
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .expect("open the named pipe for reading")
}

/// What the pipe holds once its writer has gone (a reader that never waits sees the end of a
/// pipe whose writer closed it, or that no writer ever opened, as the end).
fn read_what_was_written(mut reader: File) -> String {
    let mut text = String::new();
    reader
        .read_to_string(&mut text)
        .expect("read what the pipe holds");
    text
}

fn assert_still_a_pipe(path: &Path) {
    let kind = std::fs::symlink_metadata(path)
        .expect("the pipe")
        .file_type();
    assert!(kind.is_fifo(), "the named pipe was replaced: {kind:?}");
}

#[test]
fn a_report_to_a_named_pipe_goes_through_the_pipe() {
    // Renaming a temporary file over the path, as a JUnit report replaces a regular file, would
    // replace the pipe (or a device such as /dev/stdout) with a regular file.
    for (flag, beginning) in REPORT_FLAGS {
        let test = passing_run(1).args([flag, "report.fifo"]);
        let fifo = test.path().join("report.fifo");
        mkfifo(&fifo);
        let reader = open_reader(&fifo);
        let output = test.stdout(&all_passed(1, &[("a.stream", "health")])).run();
        let report = read_what_was_written(reader);
        assert!(report.starts_with(beginning), "{flag}:\n{report}");
        assert_still_a_pipe(&output.dir.path().join("report.fifo"));
    }
}

#[test]
fn a_report_to_a_named_pipe_that_nothing_reads_is_an_error_before_the_run() {
    // Opening it for writing would wait for a reader that may never come, deaf to Ctrl-C.
    for (flag, _) in REPORT_FLAGS {
        let test = passing_run(1).args([flag, "report.fifo"]);
        mkfifo(&test.path().join("report.fifo"));
        test.stderr(
            "error: cannot write the report `report.fifo`: it is a named pipe that no process is reading",
        )
        .status(3)
        .run();
    }
}

#[test]
fn a_stop_signal_ends_a_run_whose_report_waits_for_its_reader() {
    // The reader holds the pipe open and reads nothing: once the pipe is full, writing the report
    // waits for it. A stop signal must still end the run, and say which report is incomplete.
    for (flag, _) in REPORT_FLAGS {
        let test = passing_run(200).args([flag, "report.fifo"]);
        let fifo = test.path().join("report.fifo");
        mkfifo(&fifo);
        let reader = open_reader(&fifo);
        // The smallest pipe there is (a page), which 200 tests' report overfills in any format.
        // SAFETY: fcntl(2) on an open descriptor of a pipe.
        let size = unsafe { libc::fcntl(reader.as_raw_fd(), libc::F_SETPIPE_SZ, 4096) };
        assert!(
            size > 0,
            "F_SETPIPE_SZ: {}",
            std::io::Error::last_os_error()
        );
        let output = test
            .signal_when_stdout_has("Summary", libc::SIGTERM)
            .run_unchecked();
        drop(reader);
        assert_eq!(
            (output.status, output.stderr.as_str()),
            (
                Some(143),
                "error: cannot write the report `report.fifo`: stopped by SIGTERM before it was \
                 written in full\n"
            ),
            "{flag}; stdout:\n{}",
            output.stdout
        );
        assert!(
            output
                .stdout
                .ends_with("Summary 200 tests: 200 passed, 0 failed [TIME]\n"),
            "{flag}; stdout:\n{}",
            output.stdout
        );
    }
}
