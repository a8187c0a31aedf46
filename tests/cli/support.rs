//! The test builder: writes spec files into a temporary directory, runs the real `streamspec`
//! binary there as a subprocess, and compares its exact output after redaction.
//!
//! ```ignore
//! Test::new()
//!     .spec("a.stream", r#"
//!         test "t" {
//!           GET {{base}}/sse/empty
//!           expect sse { end }
//!         }
//!     "#)
//!     .args(["run", "."])
//!     .var("base", servers::demo())
//!     .stdout("…")
//!     .run();
//! ```
//!
//! Expected texts are unindented (the common leading spaces of their lines are removed, and so
//! are the first line when empty and the indentation before the closing quote), so they can be
//! written as indented raw strings. Unset expectations mean: empty stdout, empty stderr, exit 0.
//!
//! Before comparing, the output is redacted (see [`DEFAULT_REDACTIONS`]): the temporary directory
//! becomes `[TEMP]`, measured times `[TIME]`, loopback ports `PORT`, and trailing whitespace is
//! removed from every line, in both the expected and the actual text.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use regex::Regex;
use similar::{ChangeTag, TextDiff};
use tempfile::TempDir;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_streamspec");

/// How long a run may take before the child is killed and the test fails. Generous, because
/// the machine is shared; a hang still fails in seconds instead of hanging the suite.
const DEFAULT_KILL_AFTER: Duration = Duration::from_secs(20);

/// Redactions applied to every output, in order: (pattern, replacement).
///
/// - `[   0.403s]` duration columns;
/// - `# 101ms`, `# 0.49ms`, `# 1.27s` item times at the end of diff lines;
/// - durations measured by the run inside messages (`no item arrived in 303ms`, `measured 50ms`,
///   `gap max was 50ms`, `came 5ms after`, `took 312ms`), and the spread of a barrier in
///   `run -v` (`released within 0.40ms`); durations written in a spec (`within 100ms`) are
///   stable and left alone;
/// - loopback ports;
/// - the demo ticker's and chat's clock values (`"timestamp": 1795246236332`,
///   `"created": 1795246243`), and the chat's response ids (`"chatcmpl-` and 24 random letters
///   and digits).
const DEFAULT_REDACTIONS: &[(&str, &str)] = &[
    (r"\[ *\d+\.\d{3}s\]", "[TIME]"),
    (r"  # \d+(?:\.\d+)?m?s$", "  # [TIME]"),
    (
        r"\b(arrived in|came after|came|measured|was|took|waited|released within) \d+(?:\.\d+)?m?s\b",
        "$1 [TIME]",
    ),
    (r"127\.0\.0\.1:\d+", "127.0.0.1:PORT"),
    (r#""timestamp": \d+"#, r#""timestamp": [UNIX_MS]"#),
    (r#""created": \d+"#, r#""created": [UNIX_S]"#),
    (r#""chatcmpl-[A-Za-z0-9]{24}""#, r#""chatcmpl-[ID]""#),
];

fn default_redactions() -> &'static [(Regex, String)] {
    static COMPILED: OnceLock<Vec<(Regex, String)>> = OnceLock::new();
    COMPILED.get_or_init(|| {
        DEFAULT_REDACTIONS
            .iter()
            .map(|(pattern, replacement)| {
                let regex = Regex::new(&format!("(?m){pattern}")).expect("a valid redaction");
                (regex, replacement.to_string())
            })
            .collect()
    })
}

/// Removes the indentation shared by the non-blank lines, a leading empty line, and a last line
/// holding only the closing quote's indentation. Every line ends with `\n`.
pub fn unindent(text: &str) -> String {
    let text = text.strip_prefix('\n').unwrap_or(text);
    let mut lines: Vec<&str> = text.split('\n').collect();
    if lines.last().is_some_and(|last| last.trim().is_empty()) {
        lines.pop();
    }
    let indent = lines
        .iter()
        .filter(|line| !line.trim().is_empty())
        .map(|line| line.len() - line.trim_start_matches(' ').len())
        .min()
        .unwrap_or(0);
    let mut out = String::new();
    for line in lines {
        out.push_str(line.get(indent..).unwrap_or_else(|| line.trim_start()));
        out.push('\n');
    }
    out
}

fn trim_line_ends(text: &str) -> String {
    text.split('\n')
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
}

/// What a finished run printed, already redacted, and the directory it ran in (still there).
#[derive(Debug)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub status: Option<i32>,
    pub elapsed: Duration,
    pub dir: TempDir,
}

/// Where a child's standard output goes instead of being read.
enum StdoutTo {
    File(PathBuf),
    ClosedPipe,
}

pub struct Test {
    dir: TempDir,
    cwd: PathBuf,
    args: Vec<String>,
    vars: Vec<(String, String)>,
    env: Vec<(String, String)>,
    /// Variables the child must not have, removed after the defaults (`NO_COLOR`) are set.
    env_removed: Vec<String>,
    stdin: Option<Vec<u8>>,
    stdout: String,
    stderr: String,
    status: i32,
    kill_after: Duration,
    /// A signal to send once stdout contains the marker.
    signal_when: Option<(String, libc::c_int)>,
    /// Resource limits of the child: (resource, soft, hard).
    limits: Vec<(libc::c_int, libc::rlim_t, libc::rlim_t)>,
    /// Where standard output goes when it is not read.
    stdout_to: Option<StdoutTo>,
    /// Where standard error goes when it is not read.
    stderr_to: Option<PathBuf>,
    /// Standard error is a terminal (a pseudo-terminal this process reads), not a pipe.
    stderr_on_a_terminal: bool,
    redactions: Vec<(Regex, String)>,
}

impl Test {
    pub fn new() -> Test {
        let dir = tempfile::Builder::new()
            .prefix("streamspec-cli-")
            .tempdir()
            .expect("a temporary directory");
        let cwd = dir.path().to_path_buf();
        Test {
            dir,
            cwd,
            args: Vec::new(),
            vars: Vec::new(),
            env: Vec::new(),
            env_removed: Vec::new(),
            stdin: None,
            stdout: String::new(),
            stderr: String::new(),
            status: 0,
            kill_after: DEFAULT_KILL_AFTER,
            signal_when: None,
            limits: Vec::new(),
            stdout_to: None,
            stderr_to: None,
            stderr_on_a_terminal: false,
            redactions: Vec::new(),
        }
    }

    /// The temporary directory the files are written to (shown as `[TEMP]` in the output).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a spec file (unindented), creating its directories.
    pub fn spec(self, path: &str, text: &str) -> Test {
        self.file(path, unindent(text))
    }

    /// Writes `streamspec.toml` (unindented) at the top of the temporary directory.
    pub fn config(self, text: &str) -> Test {
        self.file("streamspec.toml", unindent(text))
    }

    /// Writes a file exactly as given.
    pub fn file(self, path: &str, contents: impl AsRef<[u8]>) -> Test {
        let path = self.dir.path().join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create the file's directory");
        }
        std::fs::write(&path, contents).expect("write the file");
        self
    }

    /// Runs the binary in this subdirectory of the temporary directory.
    pub fn current_dir(mut self, subdir: &str) -> Test {
        self.cwd = self.dir.path().join(subdir);
        std::fs::create_dir_all(&self.cwd).expect("create the working directory");
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Test
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// `--var name=value`, given after the other arguments.
    pub fn var(mut self, name: &str, value: impl Into<String>) -> Test {
        self.vars.push((name.to_string(), value.into()));
        self
    }

    pub fn env(mut self, name: &str, value: impl Into<String>) -> Test {
        self.env.push((name.to_string(), value.into()));
        self
    }

    /// Runs the child without this variable, even one the builder sets by default (`NO_COLOR`).
    pub fn without_env(mut self, name: &str) -> Test {
        self.env_removed.push(name.to_string());
        self
    }

    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Test {
        self.stdin = Some(bytes.into());
        self
    }

    pub fn stdout(mut self, text: &str) -> Test {
        self.stdout = unindent(text);
        self
    }

    pub fn stderr(mut self, text: &str) -> Test {
        self.stderr = unindent(text);
        self
    }

    pub fn status(mut self, code: i32) -> Test {
        self.status = code;
        self
    }

    /// Kills the child and fails the test when the run takes longer than this.
    pub fn kill_after(mut self, timeout: Duration) -> Test {
        self.kill_after = timeout;
        self
    }

    /// Sends SIGINT (a Ctrl-C) to the run as soon as its stdout contains `marker`.
    pub fn interrupt_when_stdout_has(self, marker: &str) -> Test {
        self.signal_when_stdout_has(marker, libc::SIGINT)
    }

    /// Sends `signal` to the run as soon as its stdout contains `marker`.
    pub fn signal_when_stdout_has(mut self, marker: &str, signal: libc::c_int) -> Test {
        self.signal_when = Some((marker.to_string(), signal));
        self
    }

    /// Runs the child with this open-file limit (`ulimit -n`), soft and hard: a hard limit below
    /// the suite's own cannot be raised by the child.
    pub fn open_file_limit(mut self, soft: u64, hard: u64) -> Test {
        self.limits
            .push((libc::RLIMIT_NOFILE as libc::c_int, soft, hard));
        self
    }

    /// Runs the child with files limited to `bytes` (`ulimit -f`), and SIGXFSZ ignored, so that
    /// a write past the limit fails with EFBIG as a write to a full disk fails with ENOSPC.
    pub fn file_size_limit(mut self, bytes: u64) -> Test {
        self.limits
            .push((libc::RLIMIT_FSIZE as libc::c_int, bytes, bytes));
        self
    }

    /// Sends the child's standard output to this file (such as `/dev/full`) instead of reading
    /// it; the output's `stdout` is then empty.
    pub fn stdout_to(mut self, path: impl Into<PathBuf>) -> Test {
        self.stdout_to = Some(StdoutTo::File(path.into()));
        self
    }

    /// Sends the child's standard error to this file (such as `/dev/full`) instead of reading
    /// it; the output's `stderr` is then empty.
    pub fn stderr_to(mut self, path: impl Into<PathBuf>) -> Test {
        self.stderr_to = Some(path.into());
        self
    }

    /// Gives the child a standard output whose reader has gone, as `| head` leaves it once
    /// `head` has read its lines: every write fails with EPIPE.
    pub fn stdout_to_a_closed_pipe(mut self) -> Test {
        self.stdout_to = Some(StdoutTo::ClosedPipe);
        self
    }

    /// Gives the child a terminal as standard error (a pseudo-terminal, 200 columns wide), so
    /// that it draws what it draws only there (the progress line); `stderr` is what it wrote,
    /// `\r\n` for each line break.
    pub fn stderr_on_a_terminal(mut self) -> Test {
        self.stderr_on_a_terminal = true;
        self
    }

    /// An extra redaction for this test, applied after the default ones.
    pub fn redact(mut self, pattern: &str, replacement: &str) -> Test {
        let regex = Regex::new(&format!("(?m){pattern}")).expect("a valid redaction");
        self.redactions.push((regex, replacement.to_string()));
        self
    }

    /// Runs the binary and asserts the exact (redacted) stdout, stderr and exit code.
    pub fn run(self) -> Output {
        let output = self.execute();
        let mut problems = Vec::new();
        if output.status != Some(self.status) {
            problems.push(format!(
                "exit status: expected {}, got {}",
                self.status,
                output
                    .status
                    .map_or_else(|| "a kill by a signal".to_string(), |c| c.to_string())
            ));
        }
        for (name, expected, actual) in [
            ("stdout", &self.stdout, &output.stdout),
            ("stderr", &self.stderr, &output.stderr),
        ] {
            let expected = trim_line_ends(expected);
            if expected != *actual {
                problems.push(format!(
                    "{name} differs (- expected, + actual):\n{}\n{name} as printed (redacted):\n{}",
                    diff(&expected, actual),
                    fence(actual)
                ));
            }
        }
        if !problems.is_empty() {
            let mut report = format!(
                "`streamspec {}` did not behave as expected",
                self.shown_args()
            );
            for problem in &problems {
                report.push_str("\n\n");
                report.push_str(problem);
            }
            if problems.len() == 1 && output.status != Some(self.status) {
                // Only the exit status is wrong: show what the run printed.
                report.push_str(&format!(
                    "\n\nstdout:\n{}\nstderr:\n{}",
                    fence(&output.stdout),
                    fence(&output.stderr)
                ));
            }
            panic!("{report}");
        }
        output.finish(self.dir)
    }

    fn shown_args(&self) -> String {
        self.full_args().join(" ")
    }

    fn full_args(&self) -> Vec<String> {
        let mut args = self.args.clone();
        for (name, value) in &self.vars {
            args.push("--var".to_string());
            args.push(format!("{name}={value}"));
        }
        args
    }

    /// Runs the binary and returns its redacted output, whatever it is.
    pub fn run_unchecked(self) -> Output {
        self.execute().finish(self.dir)
    }

    /// Runs the binary. The child is killed when it outlives the kill timeout, and the test then
    /// fails.
    fn execute(&self) -> Ran {
        let mut command = Command::new(BIN);
        command
            .args(self.full_args())
            .current_dir(&self.cwd)
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(match &self.stdout_to {
                Some(StdoutTo::File(path)) => Stdio::from(
                    std::fs::OpenOptions::new()
                        .write(true)
                        .open(path)
                        .expect("open the file for standard output"),
                ),
                Some(StdoutTo::ClosedPipe) => {
                    let (reader, writer) = std::io::pipe().expect("a pipe");
                    drop(reader);
                    Stdio::from(writer)
                }
                None => Stdio::piped(),
            })
            .env("NO_COLOR", "1")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("CLICOLOR")
            .env_remove("RUST_BACKTRACE")
            // A CI machine's own variables change the defaults (`--update` writes nothing).
            .env_remove("CI")
            // Set when the suite itself runs in GitHub Actions; it would add annotations.
            .env_remove("GITHUB_ACTIONS");
        // The run must not see variables from the environment the suite runs in.
        for (name, _) in std::env::vars_os() {
            if name
                .to_str()
                .is_some_and(|name| name.starts_with("STREAMSPEC_"))
            {
                command.env_remove(name);
            }
        }
        for (name, value) in &self.env {
            command.env(name, value);
        }
        for name in &self.env_removed {
            command.env_remove(name);
        }
        if !self.limits.is_empty() {
            let limits = self.limits.clone();
            // SAFETY: between fork and exec only async-signal-safe calls are made: setrlimit and
            // signal, with values computed before the fork.
            unsafe {
                command.pre_exec(move || {
                    for &(resource, soft, hard) in &limits {
                        let limit = libc::rlimit {
                            rlim_cur: soft,
                            rlim_max: hard,
                        };
                        if libc::setrlimit(resource as _, &limit) != 0 {
                            return Err(std::io::Error::last_os_error());
                        }
                        if resource == libc::RLIMIT_FSIZE as libc::c_int {
                            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                        }
                    }
                    Ok(())
                });
            }
        }
        let terminal = if self.stderr_on_a_terminal {
            let (reader, child_end) = pseudo_terminal();
            command.stderr(Stdio::from(child_end));
            Some(reader)
        } else {
            command.stderr(match &self.stderr_to {
                Some(path) => Stdio::from(
                    std::fs::OpenOptions::new()
                        .write(true)
                        .open(path)
                        .expect("open the file for standard error"),
                ),
                None => Stdio::piped(),
            });
            None
        };
        let started = Instant::now();
        let mut child = command.spawn().expect("start the streamspec binary");
        // The command holds this process's copy of the terminal's child end: once it is gone, the
        // reader sees the end when the child (and any service it started) closes its own.
        drop(command);
        let pid = child.id();
        let stdin_writer = child.stdin.take().map(|mut pipe| {
            let bytes = self.stdin.clone().unwrap_or_default();
            // A child that exits early closes the pipe; that is its business, not a failure.
            std::thread::spawn(move || {
                let _ = pipe.write_all(&bytes);
            })
        });
        // The child is reaped only after its stdout is read to the end (below), so the pid is
        // still its own whenever the marker is seen.
        let signal = self.signal_when.clone().map(|(marker, signal)| {
            let action: Box<dyn FnOnce() + Send> = Box::new(move || {
                // SAFETY: kill(2) on our own child, which is not reaped yet.
                unsafe {
                    libc::kill(pid as libc::pid_t, signal);
                }
            });
            (marker, action)
        });
        let nothing_read = || {
            let (sender, receiver) = mpsc::channel();
            let _ = sender.send(Vec::new());
            receiver
        };
        let stdout = match child.stdout.take() {
            Some(pipe) => read_in_background(pipe, signal),
            None => nothing_read(),
        };
        let stderr = match (terminal, child.stderr.take()) {
            (Some(reader), _) => read_in_background(reader, None),
            (None, Some(pipe)) => read_in_background(pipe, None),
            (None, None) => nothing_read(),
        };
        // A thread waits for the child to exit without reaping it (WNOWAIT), so that until
        // `child.wait()` below the pid stays the child's and a kill cannot hit another process.
        let (sender, receiver) = mpsc::channel();
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
            let _ = sender.send(result);
        });
        if receiver.recv_timeout(self.kill_after).is_err() {
            // SAFETY: kill(2) on our own child, which is not reaped yet.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGKILL);
            }
            let _ = child.wait();
            let stdout = stdout
                .recv_timeout(Duration::from_secs(5))
                .unwrap_or_default();
            let stderr = stderr
                .recv_timeout(Duration::from_secs(5))
                .unwrap_or_default();
            panic!(
                "`streamspec {}` was still running after {:?} and was killed\n\nstdout:\n{}\nstderr:\n{}",
                self.shown_args(),
                self.kill_after,
                fence(&self.redacted(&String::from_utf8_lossy(&stdout))),
                fence(&self.redacted(&String::from_utf8_lossy(&stderr))),
            );
        }
        let elapsed = started.elapsed();
        // The child has exited; its pipes close unless a grandchild (a service) kept them.
        let collect = |receiver: mpsc::Receiver<Vec<u8>>, name: &str| {
            let bytes = receiver
                .recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|_| panic!("{name} of streamspec was not closed after it exited"));
            self.redacted(&String::from_utf8_lossy(&bytes))
        };
        let stdout = collect(stdout, "stdout");
        let stderr = collect(stderr, "stderr");
        let status = child.wait().expect("reap streamspec");
        if let Some(writer) = stdin_writer {
            let _ = writer.join();
        }
        Ran {
            stdout,
            stderr,
            status: status.code(),
            elapsed,
        }
    }

    fn redacted(&self, text: &str) -> String {
        let mut text = redact(self.dir.path(), text);
        for (regex, replacement) in &self.redactions {
            text = regex.replace_all(&text, replacement.as_str()).into_owned();
        }
        trim_line_ends(&text)
    }
}

/// The default redactions of a run's output in `dir`, for text the run wrote elsewhere (a report
/// file): `dir` becomes `[TEMP]`, then [`DEFAULT_REDACTIONS`] apply, and line ends are trimmed.
pub fn redact(dir: &Path, text: &str) -> String {
    let mut text = text.to_string();
    let canonical = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    for path in [canonical.as_path(), dir] {
        if let Some(path) = path.to_str() {
            text = text.replace(path, "[TEMP]");
        }
    }
    for (regex, replacement) in default_redactions() {
        text = regex.replace_all(&text, replacement.as_str()).into_owned();
    }
    trim_line_ends(&text)
}

/// A run's output before the temporary directory is handed over.
struct Ran {
    stdout: String,
    stderr: String,
    status: Option<i32>,
    elapsed: Duration,
}

impl Ran {
    fn finish(self, dir: TempDir) -> Output {
        Output {
            stdout: self.stdout,
            stderr: self.stderr,
            status: self.status,
            elapsed: self.elapsed,
            dir,
        }
    }
}

/// A pseudo-terminal 200 columns wide: the end this process reads, and the end for the child.
/// Reading fails with EIO once every copy of the child's end is closed, which
/// [`read_in_background`] takes for the end.
fn pseudo_terminal() -> (std::fs::File, std::fs::File) {
    use std::os::fd::FromRawFd;
    // SAFETY: plain libc calls on descriptors this function owns; each result is checked before
    // the next call, and each descriptor is owned by exactly one File.
    unsafe {
        let reader = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        assert!(
            reader >= 0,
            "posix_openpt: {}",
            std::io::Error::last_os_error()
        );
        let reader_file = std::fs::File::from_raw_fd(reader);
        assert_eq!(libc::grantpt(reader), 0, "grantpt");
        assert_eq!(libc::unlockpt(reader), 0, "unlockpt");
        let mut name = [0 as libc::c_char; 256];
        assert_eq!(
            libc::ptsname_r(reader, name.as_mut_ptr(), name.len()),
            0,
            "ptsname_r"
        );
        let child_end = libc::open(
            name.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        );
        assert!(
            child_end >= 0,
            "open the terminal: {}",
            std::io::Error::last_os_error()
        );
        let size = libc::winsize {
            ws_row: 50,
            ws_col: 200,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        assert_eq!(
            libc::ioctl(child_end, libc::TIOCSWINSZ, &size),
            0,
            "TIOCSWINSZ"
        );
        (reader_file, std::fs::File::from_raw_fd(child_end))
    }
}

/// Something to do once a pipe's output so far contains a marker.
type Watch = (String, Box<dyn FnOnce() + Send>);

/// Reads a pipe to its end on a thread, running the watch's action when its marker shows up.
fn read_in_background(
    mut pipe: impl Read + Send + 'static,
    mut watch: Option<Watch>,
) -> mpsc::Receiver<Vec<u8>> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let mut buffer = [0u8; 8192];
        loop {
            match pipe.read(&mut buffer) {
                Ok(0) => break,
                Ok(read) => bytes.extend_from_slice(&buffer[..read]),
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
            if let Some((marker, _)) = &watch
                && String::from_utf8_lossy(&bytes).contains(marker.as_str())
                && let Some((_, action)) = watch.take()
            {
                action();
            }
        }
        let _ = sender.send(bytes);
    });
    receiver
}

fn fence(text: &str) -> String {
    format!("┌────\n{text}└────")
}

/// A line diff of expected and actual text, marked `-` and `+`.
fn diff(expected: &str, actual: &str) -> String {
    let mut out = String::new();
    for change in TextDiff::from_lines(expected, actual).iter_all_changes() {
        let sign = match change.tag() {
            ChangeTag::Delete => '-',
            ChangeTag::Insert => '+',
            ChangeTag::Equal => ' ',
        };
        out.push(sign);
        out.push_str(change.value());
        if change.missing_newline() {
            out.push_str("\n\\ no newline at the end\n");
        }
    }
    out
}

/// The report of a run whose tests all passed: `(file, test name)` in order.
pub fn all_passed(files: usize, tests: &[(&str, &str)]) -> String {
    let plural = |n: usize, word: &str| {
        if n == 1 {
            format!("{n} {word}")
        } else {
            format!("{n} {word}s")
        }
    };
    let mut out = format!(
        "Running {} from {}\n",
        plural(tests.len(), "test"),
        plural(files, "file")
    );
    for (file, name) in tests {
        out.push_str(&format!("  PASS [TIME] {file}: {name}\n"));
    }
    out.push_str(&format!(
        "Summary {}: {} passed, 0 failed [TIME]\n",
        plural(tests.len(), "test"),
        tests.len()
    ));
    out
}

/// The times `run --verbose` measures, which the default redactions leave alone: the figures
/// after `ttfb`, `first item`, `duration` and the gap statistics, and the waits before
/// reconnecting. The JUnit report carries the same lines.
pub const VERBOSE_REDACTIONS: &[(&str, &str)] = &[
    (
        r"\b(ttfb|first item|duration|min|mean|p50|p95|p99|max) \d+(?:\.\d+)?m?s\b",
        "$1 [TIME]",
    ),
    (r"(reconnecting: |, )\d+(?:\.\d+)?m?s\b", "$1[TIME]"),
];

/// `test` with [`VERBOSE_REDACTIONS`].
pub fn redact_verbose(test: Test) -> Test {
    VERBOSE_REDACTIONS
        .iter()
        .fold(test, |test, (pattern, replacement)| {
            test.redact(pattern, replacement)
        })
}

/// `streamspec run a.stream` against `base`: exit 1 with this report.
pub fn fails(base: &str, spec: &str, stdout: &str) -> Output {
    Test::new()
        .spec("a.stream", spec)
        .args(["run", "a.stream"])
        .var("base", base)
        .stdout(stdout)
        .status(1)
        .run()
}

/// `streamspec check a.stream` on this spec: exit 2, nothing on stdout, this on stderr.
pub fn check_fails(spec: &str, stderr: &str) {
    Test::new()
        .spec("a.stream", spec)
        .args(["check", "a.stream"])
        .stderr(stderr)
        .status(2)
        .run();
}

#[test]
fn measured_times_are_redacted_and_times_written_in_a_spec_are_not() {
    let printed = "error: expected an item within 100ms, but no item arrived in 303ms\n\
                   \x20        barrier go on line 5: 3 branches released within 0.40ms\n";
    assert_eq!(
        redact(Path::new("/nonexistent"), printed),
        "error: expected an item within 100ms, but no item arrived in [TIME]\n\
         \x20        barrier go on line 5: 3 branches released within [TIME]\n"
    );
}
