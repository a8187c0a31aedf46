//! Telling the tests about a service that exited while they ran. Each service's watcher notes its
//! exit at once (see [`super::process`]); a test that then fails gets the story — which service,
//! its exit code or signal, the last test that had passed before, and its last lines of output —
//! rather than only the "connection refused" it saw. A load run asks for each exit as it comes
//! (see [`ServiceWatch::exits`]), to say when the service exited.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tokio::sync::watch;

use super::process::{LastPassed, OUTPUT_LINES, ProcessState, Tail, describe_exit, last_lines};
use crate::outcome::{Failure, FailureClass};

/// How long a test that failed with an error (a refused or dropped connection) waits to hear
/// whether a service exited: the exit closes the service's sockets a moment before the watcher
/// learns of it, so the first test it fails can finish first. Only tests that failed with an
/// error while every service seemed up wait, and only this long.
const EXIT_NOTICE_GRACE: Duration = Duration::from_millis(500);
/// How long to wait for the last of a dead service's output to be read.
const OUTPUT_WAIT: Duration = Duration::from_millis(500);

/// The services of a run as its tests see them; cheap to clone, one per test. Without services
/// (the default) it knows of no exit.
#[derive(Debug, Clone, Default)]
pub struct ServiceWatch {
    services: Arc<[Watched]>,
    last_passed: LastPassed,
}

#[derive(Debug)]
pub(super) struct Watched {
    pub(super) name: String,
    /// `file:line:col` of its entry in the config.
    pub(super) defined_at: String,
    pub(super) state: watch::Receiver<ProcessState>,
    pub(super) output: Arc<Mutex<Tail>>,
}

/// A service that exited during the run.
#[derive(Debug, Clone)]
pub struct ServiceExit {
    /// Which service of the run (their order in the config).
    pub index: usize,
    pub name: String,
    defined_at: String,
    /// "exited with code 3", "was killed by signal 9 (SIGKILL)".
    how: String,
    /// The last test that had passed when the exit was noticed, as `file: name`.
    after: Option<String>,
    /// Its last lines of output.
    output: String,
}

impl ServiceWatch {
    pub(super) fn new(services: Vec<Watched>, last_passed: LastPassed) -> ServiceWatch {
        ServiceWatch {
            services: services.into(),
            last_passed,
        }
    }

    /// A test passed: an exit noticed from now on happened after it.
    pub fn test_passed(&self, label: &str) {
        if self.services.is_empty() {
            return;
        }
        let mut last = match self.last_passed.lock() {
            Ok(last) => last,
            Err(poisoned) => poisoned.into_inner(),
        };
        *last = Some(label.to_string());
    }

    /// The services that have exited, for a test that has just failed; `error`: it failed with an
    /// error, which an exit not yet noticed may have caused (see [`EXIT_NOTICE_GRACE`]).
    pub async fn exits_for_failure(&self, error: bool) -> Vec<ServiceExit> {
        if self.services.is_empty() {
            return Vec::new();
        }
        let exited = |watched: &Watched| watched.state.borrow().exit.is_some();
        if error && !self.services.iter().any(exited) {
            let any_exit = futures_util::future::select_all(self.services.iter().map(|watched| {
                let mut state = watched.state.clone();
                async move {
                    let _ = state.wait_for(|state| state.exit.is_some()).await;
                }
                .boxed()
            }));
            let _ = tokio::time::timeout(EXIT_NOTICE_GRACE, any_exit).await;
        }
        let mut exits = Vec::new();
        for (index, watched) in self.services.iter().enumerate() {
            if !exited(watched) {
                continue;
            }
            let mut state = watched.state.clone();
            let _ = tokio::time::timeout(OUTPUT_WAIT, state.wait_for(|state| state.drained)).await;
            let state = state.borrow().clone();
            let Some(exit) = &state.exit else { continue };
            exits.push(ServiceExit {
                index,
                name: watched.name.clone(),
                defined_at: watched.defined_at.clone(),
                how: describe_exit(exit),
                after: state.after.clone(),
                output: last_lines(&watched.output),
            });
        }
        exits
    }
}

/// How a service exited, as [`ServiceWatch::exits`] saw it.
pub struct ServiceExited {
    /// "exited with code 3", "was killed by signal 9 (SIGKILL)".
    pub how: String,
    /// When the exit was seen.
    pub at: std::time::Instant,
    /// The last lines it printed.
    pub output: String,
}

impl ServiceWatch {
    /// Each service's name, and a future that ends when it exits with how it did ("exited with
    /// code 3", "was killed by signal 9 (SIGKILL)"), when it was seen, and the last lines it
    /// printed; or with `None` if it can no longer tell.
    pub fn exits(&self) -> Vec<(String, BoxFuture<'static, Option<ServiceExited>>)> {
        self.services
            .iter()
            .map(|watched| {
                let mut state = watched.state.clone();
                let output = Arc::clone(&watched.output);
                let exit = async move {
                    let how = {
                        let state = state.wait_for(|state| state.exit.is_some()).await.ok()?;
                        state.exit.as_ref().map(describe_exit)?
                    };
                    let at = std::time::Instant::now();
                    // What it printed last is read to its end, within a bound.
                    let _ =
                        tokio::time::timeout(OUTPUT_WAIT, state.wait_for(|state| state.drained))
                            .await;
                    Some(ServiceExited {
                        how,
                        at,
                        output: last_lines(&output),
                    })
                };
                (watched.name.clone(), exit.boxed())
            })
            .collect()
    }
}

impl ServiceExit {
    /// "service `api` exited with code 3 during the run (after test `a.stream: t`)"
    fn headline(&self) -> String {
        let when = match &self.after {
            Some(test) => format!("after test `{test}`"),
            None => "before any test passed".to_string(),
        };
        format!(
            "service `{}` {} during the run ({when})",
            self.name, self.how
        )
    }

    /// The whole story, for the first failed test that shows it.
    pub fn failure(&self) -> Failure {
        let output = if self.output.trim().is_empty() {
            "it printed nothing".to_string()
        } else {
            format!(
                "its output (last {OUTPUT_LINES} lines at most):\n{}",
                self.output.trim_end()
            )
        };
        without_location(
            self.headline(),
            vec![
                format!("`{}` is the service at {}", self.name, self.defined_at),
                output,
            ],
        )
    }

    /// For the failed tests after the first, which `shown_under` names (as `file: name`).
    pub fn reference(&self, shown_under: &str) -> Failure {
        without_location(
            format!(
                "{}; its output is shown under `{shown_under}`",
                self.headline()
            ),
            Vec::new(),
        )
    }
}

/// An error about the run rather than a line of the spec.
fn without_location(message: String, notes: Vec<String>) -> Failure {
    Failure {
        class: FailureClass::Error,
        message,
        span: None,
        label: String::new(),
        notes,
        diff: None,
        fix: None,
    }
}
