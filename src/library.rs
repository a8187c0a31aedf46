//! The library API: run a directory of specs from Rust, typically from a `#[test]` in the crate
//! of the service the specs test, and get the outcomes, or a panic that lists every failure.
//!
//! `{{streamspec}}` in a `streamspec.toml` service command (how `specs/` starts the bundled demo)
//! names the streamspec executable. Inside a test binary the running program is not streamspec,
//! so it is found in this order: [`Specs::streamspec_exe`], the `STREAMSPEC_BIN` environment
//! variable, the running program when it is streamspec, then `streamspec` on the `PATH`. The
//! service command is an argument list the config may wrap in anything (`sh -c`, `cargo run`),
//! so only a real executable honours it; running the demo in this process instead would work for
//! one exact command line and break for every other. A test that wants the demo without the
//! binary serves [`crate::demo::router`] itself and passes its address with [`Specs::var`].

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::diagnostic::Diagnostic;
use crate::exit_code;
use crate::outcome::TestOutcome;
use crate::project;
use crate::report::Reporter;
use crate::report::human::{HumanReporter, failed_word, render_failure};
use crate::report::redact::{Redacting, Secrets};
use crate::runner::select::Selection;
use crate::runner::{self, RunOptions, Stopped};
use crate::style::Palette;
use crate::transport::http::HttpClient;

/// The environment variable that names the streamspec executable for `{{streamspec}}`.
pub const STREAMSPEC_BIN_ENV: &str = "STREAMSPEC_BIN";

/// Runs every spec under `path` (a directory or a file) with the defaults of `streamspec run`.
///
/// ```no_run
/// let report = streamspec::run_dir("specs").expect("the specs load and their services start");
/// assert!(report.passed(), "{}", report.output());
/// ```
pub fn run_dir(path: impl AsRef<Path>) -> Result<RunReport, RunError> {
    Specs::new(path).run()
}

/// Runs every spec under `path` and panics, listing each failure, unless all pass.
///
/// ```no_run
/// #[test]
/// fn the_streaming_api_meets_its_specs() {
///     streamspec::assert_specs_pass("specs");
/// }
/// ```
#[track_caller]
pub fn assert_specs_pass(path: impl AsRef<Path>) {
    Specs::new(path).assert_pass();
}

/// A run of specs, configured like `streamspec run`'s command line.
///
/// ```no_run
/// use std::time::Duration;
///
/// let base = "http://127.0.0.1:8080"; // a server the test started
/// streamspec::Specs::new("specs")
///     .var("base", base)
///     .tag("smoke")
///     .jobs(4)
///     .timeout(Duration::from_secs(10))
///     .assert_pass();
/// ```
#[derive(Debug, Clone)]
pub struct Specs {
    paths: Vec<PathBuf>,
    vars: Vec<(String, String)>,
    selection: Selection,
    jobs: Option<usize>,
    repeat: u32,
    fail_fast: bool,
    timeout: Option<Duration>,
    streamspec_exe: Option<PathBuf>,
}

impl Specs {
    /// The specs under `path`: a `.stream` file, or a directory searched recursively.
    pub fn new(path: impl AsRef<Path>) -> Specs {
        Specs {
            paths: vec![path.as_ref().to_path_buf()],
            vars: Vec::new(),
            selection: Selection::default(),
            jobs: None,
            repeat: 1,
            fail_fast: false,
            timeout: None,
            streamspec_exe: None,
        }
    }

    /// Another file or directory to run.
    pub fn path(mut self, path: impl AsRef<Path>) -> Specs {
        self.paths.push(path.as_ref().to_path_buf());
        self
    }

    /// Sets `{{name}}`, as `--var` does: stronger than the environment, the config and `let`.
    pub fn var(mut self, name: impl Into<String>, value: impl Into<String>) -> Specs {
        self.vars.push((name.into(), value.into()));
        self
    }

    /// Runs only tests whose name (or `file: name`) contains `text`; repeatable.
    pub fn filter(mut self, text: impl Into<String>) -> Specs {
        self.selection.filters.push(text.into());
        self
    }

    /// Runs only tests with this tag; repeatable (any of them).
    pub fn tag(mut self, tag: impl Into<String>) -> Specs {
        self.selection.tags.push(tag.into());
        self
    }

    /// Leaves out tests with this tag; repeatable.
    pub fn skip_tag(mut self, tag: impl Into<String>) -> Specs {
        self.selection.skip_tags.push(tag.into());
        self
    }

    /// How many tests run at once (default: the number of CPUs).
    pub fn jobs(mut self, jobs: usize) -> Specs {
        self.jobs = Some(jobs.max(1));
        self
    }

    /// Runs each test this many times.
    pub fn repeat(mut self, times: u32) -> Specs {
        self.repeat = times.max(1);
        self
    }

    /// Starts no new test after the first failure.
    pub fn fail_fast(mut self, yes: bool) -> Specs {
        self.fail_fast = yes;
        self
    }

    /// The timeout of tests that set none, overriding the config's `[defaults] timeout`
    /// (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Specs {
        self.timeout = Some(timeout);
        self
    }

    /// The executable `{{streamspec}}` runs in a config's service command.
    pub fn streamspec_exe(mut self, path: impl AsRef<Path>) -> Specs {
        self.streamspec_exe = Some(path.as_ref().to_path_buf());
        self
    }

    /// Runs the specs on a runtime of its own, on a thread of its own (so it also works when
    /// called from inside an async runtime), and waits for the result.
    pub fn run(&self) -> Result<RunReport, RunError> {
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let runtime = tokio::runtime::Builder::new_multi_thread()
                        .enable_all()
                        .build()
                        .map_err(|error| {
                            RunError::Setup(format!("cannot start the async runtime: {error}"))
                        })?;
                    runtime.block_on(self.run_async())
                })
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    /// Runs the specs on the caller's tokio runtime (which needs the time and I/O drivers).
    pub async fn run_async(&self) -> Result<RunReport, RunError> {
        let project = project::load(&self.paths, &self.vars).map_err(|error| {
            let text = render_diagnostics(&error.diagnostics);
            if error.exit_code == exit_code::NO_TESTS {
                RunError::NoTests(text)
            } else {
                RunError::Specs(text)
            }
        })?;
        let plan = self.selection.plan(&project);
        if plan.tests() == 0 {
            return Err(RunError::NoTests(render_diagnostics(&[self
                .selection
                .explain_empty(&project)])));
        }
        let client = HttpClient::new().map_err(RunError::Setup)?;
        let options = RunOptions {
            // Silently: the library prints nothing (and leaves the process's limit as it is).
            jobs: crate::open_files::jobs_fit(self.jobs.unwrap_or_else(runner::default_jobs)).jobs,
            fail_fast: self.fail_fast,
            repeat: self.repeat,
            timeout: self.timeout,
            max_item_size: None,
            vars: self.vars.clone(),
            streamspec_exe: self.resolve_streamspec_exe(),
            progress: false,
            record: false,
            secrets: Vec::new(),
        };
        let mut output = Vec::new();
        // As `streamspec run` does: the secrets the configs name are masked, and long values
        // cut, in what is shown and in the outcomes handed back.
        let mut reporter = Redacting::new(
            HumanReporter::new(&mut output, Palette::plain(), false),
            Secrets::default(),
        );
        reporter.run_started(runner::planned_runs(&plan, &options), plan.files);
        let started = std::time::Instant::now();
        let result = runner::run(
            &project,
            &plan,
            &options,
            &client,
            &mut reporter,
            None,
            None,
        )
        .await;
        if let Some(Stopped::SetupFailed(diagnostic)) = &result.stopped {
            return Err(RunError::Setup(
                result
                    .secrets
                    .redact(&render_diagnostics(std::slice::from_ref(diagnostic))),
            ));
        }
        let summary = crate::report::Summary::count(&result.outcomes, false, started.elapsed());
        reporter.run_finished(&summary, &result.outcomes);
        Ok(RunReport {
            outcomes: result
                .outcomes
                .iter()
                .map(|outcome| result.secrets.redact_outcome(outcome))
                .collect(),
            not_run: result.not_run,
            output: String::from_utf8_lossy(&output).into_owned(),
        })
    }

    /// Runs the specs and panics, listing each failure, unless every test passed.
    #[track_caller]
    pub fn assert_pass(&self) {
        match self.run() {
            Ok(report) => {
                if let Some(message) = report.failure_message() {
                    panic!("{message}");
                }
            }
            Err(error) => panic!("{error}"),
        }
    }

    fn resolve_streamspec_exe(&self) -> PathBuf {
        if let Some(path) = &self.streamspec_exe {
            return path.clone();
        }
        if let Some(path) = std::env::var_os(STREAMSPEC_BIN_ENV).filter(|p| !p.is_empty()) {
            return PathBuf::from(path);
        }
        if let Ok(exe) = std::env::current_exe()
            && exe.file_stem().is_some_and(|stem| stem == "streamspec")
        {
            return exe;
        }
        // Looked up on the PATH when the service starts; a failure names the service.
        PathBuf::from("streamspec")
    }
}

fn render_diagnostics(diagnostics: &[Diagnostic]) -> String {
    let palette = Palette::plain();
    let mut text = String::new();
    for diagnostic in diagnostics {
        text.push_str(&diagnostic.render(&palette));
    }
    text.trim_end().to_string()
}

/// What a run of specs did.
#[derive(Debug, Clone)]
pub struct RunReport {
    outcomes: Vec<TestOutcome>,
    not_run: usize,
    output: String,
}

impl RunReport {
    /// Every test ran and passed.
    pub fn passed(&self) -> bool {
        self.not_run == 0 && self.outcomes.iter().all(TestOutcome::passed)
    }

    /// Every test run, in spec order.
    pub fn outcomes(&self) -> &[TestOutcome] {
        &self.outcomes
    }

    /// The tests that failed, in spec order.
    pub fn failures(&self) -> impl Iterator<Item = &TestOutcome> {
        self.outcomes.iter().filter(|o| !o.passed())
    }

    /// The report `streamspec run` prints, without colour.
    pub fn output(&self) -> &str {
        &self.output
    }

    /// `None` when every test passed; otherwise each failure at its `file:line`, with the test's
    /// name and the failure as `streamspec run` shows it (without colour).
    pub fn failure_message(&self) -> Option<String> {
        let failed: Vec<&TestOutcome> = self.failures().collect();
        if failed.is_empty() && self.not_run == 0 {
            return None;
        }
        let mut message = format!(
            "{} of {} failed",
            failed.len(),
            crate::report::plural(self.outcomes.len() + self.not_run, "streamspec test")
        );
        if self.not_run > 0 {
            message.push_str(&format!(" ({} not run)", self.not_run));
        }
        message.push(':');
        let palette = Palette::plain();
        for outcome in failed {
            let line = outcome.file.line_col(outcome.span.start).line;
            let mut block = format!(
                "{} {}:{line}: {}\n",
                failed_word(outcome),
                outcome.file.path.display(),
                outcome.name
            );
            for failure in &outcome.failures {
                block.push('\n');
                block.push_str(&render_failure(outcome, failure, &palette));
            }
            message.push_str("\n\n");
            message.push_str(block.trim_end());
        }
        Some(message.trim_end().to_string())
    }
}

/// Why specs could not be run at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunError {
    /// A spec or `streamspec.toml` has errors (what `streamspec check` reports).
    Specs(String),
    /// No tests under the paths, or none the filters and tags select.
    NoTests(String),
    /// A service did not start, or the HTTP client could not be set up.
    Setup(String),
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Specs(text) => write!(f, "the specs have errors; no tests were run:\n{text}"),
            RunError::NoTests(text) => write!(f, "no tests to run:\n{text}"),
            RunError::Setup(text) => write!(f, "the specs could not be run:\n{text}"),
        }
    }
}

impl std::error::Error for RunError {}
