//! The run engine: for each group of the plan, start its services, run its tests — up to `jobs`
//! at once, each on a task of its own — and hand every outcome to the reporter whole and in the
//! planned order, then stop the services. Used by `streamspec run` and by the library API.
//!
//! Output order: outcomes are reported in spec order, not in the order tests finish. A test
//! that finishes early waits (in memory) for those before it, so a parallel run prints exactly
//! what `-j 1` prints, and two runs of one suite can be compared line by line. The progress line
//! shows what is running meanwhile.

pub mod held;
pub mod in_order;
pub mod progress;
pub mod schedule;
pub mod select;
pub mod timings;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use tokio::task::JoinSet;

use crate::ast::Spec;
use crate::diagnostic::Diagnostic;
use crate::interp::vars::Identity;
use crate::interp::{DEFAULT_TIMEOUT, RunSettings, run_test_as};
use crate::outcome::TestOutcome;
use crate::project::{Group, Project, env_vars};
use crate::report::Reporter;
use crate::report::redact::Secrets;
use crate::services::{RunningServices, ServiceExit, ServiceWatch};
use crate::stop_signals::{StopSignal, StopSignals};
use crate::transport::framing::DEFAULT_MAX_ITEM_SIZE;
use crate::transport::http::HttpClient;
use crate::update::apply::SpecWriter;

use held::Held;
use in_order::InOrder;
use progress::Progress;
use schedule::{Job, Scheduler};
use select::{Plan, PlannedGroup};
use timings::Timings;

/// The tag of a test that must not share the machine: it runs with no other test running.
pub const SERIAL_TAG: &str = "serial";

/// How a run is carried out (which tests run is the [`Plan`]'s business).
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Tests running at once, at least 1.
    pub jobs: usize,
    /// Start no new test after a failure.
    pub fail_fast: bool,
    /// Runs of each test, at least 1.
    pub repeat: u32,
    /// `--timeout`: for tests that set none, overriding the config's `[defaults] timeout`.
    pub timeout: Option<Duration>,
    pub max_item_size: Option<usize>,
    /// `--var`: the strongest variables.
    pub vars: Vec<(String, String)>,
    /// What `{{streamspec}}` in a config's service command runs.
    pub streamspec_exe: PathBuf,
    /// Draw the progress line (when standard error is a terminal).
    pub progress: bool,
    /// `--update`: failures carry the fixes that rewrite the spec.
    pub record: bool,
    /// `--secret` values: masked in the progress line, and in what the run returns (see
    /// [`RunResult::secrets`]), with those the configs name.
    pub secrets: Vec<String>,
}

/// The number of CPUs, the default of `--jobs`.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Why a run ended before its plan did.
#[derive(Debug)]
pub enum Stopped {
    /// A stop signal: Ctrl-C, SIGTERM, SIGHUP or SIGQUIT.
    Interrupted(StopSignal),
    /// A service did not start: the error, for the caller to show.
    SetupFailed(Diagnostic),
    /// A test failed under `--fail-fast`.
    FailFast,
}

#[derive(Debug)]
pub struct RunResult {
    /// Every finished run, in planned order.
    pub outcomes: Vec<TestOutcome>,
    /// Runs the plan had (tests × repetitions).
    pub planned: usize,
    /// Runs never started because the run stopped early.
    pub not_run: usize,
    pub stopped: Option<Stopped>,
    pub timings: Timings,
    /// The secret values of the run (`--secret`, and those the configs name in
    /// `secrets = [...]`), for what is printed after the run to mask and `--update` not to write.
    pub secrets: Secrets,
}

impl RunResult {
    pub fn failed(&self) -> usize {
        self.outcomes.iter().filter(|o| !o.passed()).count()
    }
}

/// Runs of the plan: tests × repetitions.
pub fn planned_runs(plan: &Plan, options: &RunOptions) -> usize {
    plan.tests() * options.repeat as usize
}

/// Runs the plan. Every finished test goes to `reporter.test_finished`; `run_started` and
/// `run_finished` are the caller's, which knows what to say around them. Without `signals` the
/// run cannot be interrupted (the library installs no signal handler). With `writer`
/// (`--update`), each spec's fixes are written once its tests have run, before they are
/// reported.
pub async fn run(
    project: &Project,
    plan: &Plan,
    options: &RunOptions,
    client: &HttpClient,
    reporter: &mut dyn Reporter,
    signals: Option<&mut StopSignals>,
    writer: Option<&mut SpecWriter>,
) -> RunResult {
    let planned = planned_runs(plan, options);
    let mut secrets = Secrets::default();
    for value in &options.secrets {
        secrets.add(value);
    }
    let mut runner = Runner {
        options,
        client,
        reporter,
        signals,
        writer,
        held: None,
        progress: Progress::new(planned, options.progress),
        outcomes: Vec::with_capacity(planned),
        timings: Timings::default(),
        not_run: 0,
        secrets,
        run_id: crate::interp::vars::new_uuid(),
        exits_shown: HashMap::new(),
    };
    let mut stopped = None;
    for (position, planned_group) in plan.groups.iter().enumerate() {
        let group = &project.groups[planned_group.group];
        stopped = runner.run_group(group, planned_group).await;
        if stopped.is_some() {
            let later: usize = plan.groups[position + 1..]
                .iter()
                .map(|g| g.tests.len() * options.repeat as usize)
                .sum();
            runner.not_run += later;
            break;
        }
    }
    runner.progress.clear();
    RunResult {
        outcomes: runner.outcomes,
        planned,
        not_run: runner.not_run,
        stopped,
        timings: runner.timings,
        secrets: runner.secrets,
    }
}

struct Runner<'a, 'r> {
    options: &'a RunOptions,
    client: &'a HttpClient,
    reporter: &'r mut dyn Reporter,
    signals: Option<&'a mut StopSignals>,
    /// `--update`: writes each spec's fixes before its tests are reported.
    writer: Option<&'r mut SpecWriter>,
    /// The current group's outcomes waiting for their spec's fixes to be written.
    held: Option<Held>,
    progress: Progress,
    outcomes: Vec<TestOutcome>,
    timings: Timings,
    not_run: usize,
    /// Every secret known so far: `--secret`, then those of each group's config as it starts.
    secrets: Secrets,
    /// `{{run_id}}`, the same for every test of the run, in every group.
    run_id: String,
    /// The services of the current group that exited, each with the test (`file: name`) whose
    /// failure tells the whole story; later failures refer to it.
    exits_shown: HashMap<usize, String>,
}

/// One run of one test, as queued.
#[derive(Debug, Clone, Copy)]
struct Run {
    spec: usize,
    test: usize,
    /// From 1.
    repetition: u32,
}

/// `--timeout` and `--max-item-size`, which override a config's defaults.
#[derive(Debug, Clone, Copy, Default)]
pub struct GroupLimits {
    pub timeout: Option<Duration>,
    pub max_item_size: Option<usize>,
}

/// What every test of `group` shares, given the variables of the run (strongest already
/// chosen): used by `run` and by `load`.
pub fn group_settings(
    group: &Group,
    vars: HashMap<String, String>,
    client: &HttpClient,
    run_id: &str,
    limits: GroupLimits,
    record: bool,
) -> RunSettings {
    let timeout = limits
        .timeout
        .or_else(|| group.config.as_ref().and_then(|c| c.defaults.timeout))
        .unwrap_or(DEFAULT_TIMEOUT);
    let max_item_size = limits.max_item_size.unwrap_or(DEFAULT_MAX_ITEM_SIZE);
    RunSettings {
        client: client.clone(),
        vars: Arc::new(vars),
        run_id: run_id.to_string(),
        timeout,
        max_item_size,
        // Per group: each group starts its own services. Reflection answers are items too.
        schemas: crate::transport::grpc::SchemaCache::new(max_item_size),
        grpc_schema: group
            .config
            .as_ref()
            .map(|c| c.grpc.clone())
            .unwrap_or_default(),
        record,
        redactions: group
            .config
            .as_ref()
            .map(|c| c.update.redactions.clone())
            .unwrap_or_default(),
        tokens_capture: None,
    }
}

/// Waits for a stop signal; never, without signals to watch.
async fn interrupted(signals: &mut Option<&mut StopSignals>) -> StopSignal {
    match signals {
        Some(signals) => signals.recv().await,
        None => std::future::pending().await,
    }
}

impl Runner<'_, '_> {
    /// Runs one config's selected tests with its services up; `Some` when the run must stop.
    async fn run_group(&mut self, group: &Group, planned: &PlannedGroup) -> Option<Stopped> {
        let runs_in_group = planned.tests.len() * self.options.repeat as usize;
        self.exits_shown.clear();
        let mut vars: HashMap<String, String> = HashMap::new();
        let mut services = None;
        if let Some(config) = &group.config {
            let started_at = Instant::now();
            // Interrupted while starting: dropping what was started stops it.
            let started = tokio::select! {
                started = RunningServices::start(config, &self.options.streamspec_exe) => started,
                signal = interrupted(&mut self.signals) => return Some(Stopped::Interrupted(signal)),
            };
            self.timings.services_start += started_at.elapsed();
            match started {
                Ok(running) => {
                    vars.extend(running.vars().iter().map(|(k, v)| (k.clone(), v.clone())));
                    services = Some(running);
                }
                Err(diagnostic) => {
                    // The error may quote what the service printed, and the run masks the
                    // secrets it knows in it: those the config names are learnt here too.
                    let mut vars = env_vars();
                    vars.extend(self.options.vars.iter().cloned());
                    self.learn_secrets(group, &vars);
                    self.not_run += runs_in_group;
                    self.progress.skipped(runs_in_group);
                    return Some(Stopped::SetupFailed(diagnostic));
                }
            }
        }
        // Strongest last: config, then environment, then --var and --secret.
        vars.extend(env_vars());
        vars.extend(self.options.vars.iter().cloned());
        self.learn_secrets(group, &vars);
        let settings = Arc::new(group_settings(
            group,
            vars,
            self.client,
            &self.run_id,
            GroupLimits {
                timeout: self.options.timeout,
                max_item_size: self.options.max_item_size,
            },
            self.options.record,
        ));
        let started_at = Instant::now();
        let watch = services
            .as_ref()
            .map(RunningServices::watch)
            .unwrap_or_default();
        let stopped = self.run_tests(group, planned, settings, watch).await;
        self.timings.tests += started_at.elapsed();
        // Also after a stop signal the services are stopped the gentle way (SIGTERM, then SIGKILL
        // after a grace period); a second signal does not wait for the grace period: dropping
        // the services kills every group at once.
        if let Some(services) = services {
            let stopping = Instant::now();
            tokio::select! {
                () = services.stop() => {}
                _ = interrupted(&mut self.signals) => {}
            }
            self.timings.services_stop += stopping.elapsed();
        }
        stopped
    }

    async fn run_tests(
        &mut self,
        group: &Group,
        planned: &PlannedGroup,
        settings: Arc<RunSettings>,
        watch: ServiceWatch,
    ) -> Option<Stopped> {
        let repeat = self.options.repeat;
        // Each spec is shared by its tests' tasks; cloned once, as tasks need owned data.
        let mut specs: HashMap<usize, Arc<Spec>> = HashMap::new();
        let mut runs = Vec::new();
        let mut jobs = Vec::new();
        for (position, test) in planned.tests.iter().enumerate() {
            let spec = specs
                .entry(test.spec)
                .or_insert_with(|| Arc::new(group.specs[test.spec].clone()));
            let serial = spec.tests[test.test]
                .tags
                .iter()
                .any(|tag| tag.value == SERIAL_TAG);
            for repetition in 1..=repeat {
                runs.push(Run {
                    spec: test.spec,
                    test: test.test,
                    repetition,
                });
                jobs.push(Job {
                    test: position,
                    serial,
                });
            }
        }
        // Outcomes wait for their spec's fixes only where fixes are written.
        self.held = self
            .writer
            .as_ref()
            .filter(|writer| writer.writes())
            .map(|_| Held::new(runs.iter().map(|run| run.spec)));
        let mut scheduler = Scheduler::new(jobs, self.options.jobs);
        let mut tasks: JoinSet<(usize, Finished)> = JoinSet::new();
        let mut in_order = InOrder::new();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut stopped = None;
        loop {
            if stopped.is_none() {
                while let Some(index) = scheduler.start_next() {
                    let run = runs[index];
                    let spec = Arc::clone(&specs[&run.spec]);
                    // A file or a test may be named after a secret.
                    let label = self.secrets.redact(&format!(
                        "{}: {}",
                        spec.file.path.display(),
                        spec.tests[run.test].name.value
                    ));
                    self.progress.started(index, label);
                    tasks.spawn(run_one(
                        Arc::clone(&settings),
                        spec,
                        run,
                        repeat,
                        index,
                        watch.clone(),
                    ));
                }
            }
            if tasks.is_empty() {
                break;
            }
            tokio::select! {
                joined = tasks.join_next() => {
                    // `run_one` catches panics and tasks are aborted only below, so every
                    // join is an outcome.
                    let Some(Ok((index, finished))) = joined else { continue };
                    let outcome = &finished.outcome;
                    scheduler.finished(index);
                    self.progress.finished(index, outcome.passed());
                    self.timings.test_time += outcome.duration;
                    if !outcome.passed() && self.options.fail_fast && stopped.is_none() {
                        let cancelled = scheduler.cancel_waiting();
                        self.not_run += cancelled;
                        self.progress.skipped(cancelled);
                        stopped = Some(Stopped::FailFast);
                    }
                    for finished in in_order.push(index, finished) {
                        self.report(finished);
                    }
                    self.progress.draw();
                }
                signal = interrupted(&mut self.signals) => {
                    tasks.abort_all();
                    // What finished is reported, in order; what ran is cancelled.
                    for finished in in_order.drain() {
                        self.report(finished);
                    }
                    self.release_held();
                    return Some(Stopped::Interrupted(signal));
                }
                _ = tick.tick() => self.progress.draw(),
            }
        }
        // After `--fail-fast`, a run that started out of turn (a repetition's later test) can
        // sit behind one that was cancelled: it is reported all the same.
        for finished in in_order.drain() {
            self.report(finished);
        }
        self.release_held();
        stopped
    }

    /// Learns the values of the variables the group's config names as secrets, for the reporter
    /// and for what the run prints after; warns of names no variable has.
    fn learn_secrets(&mut self, group: &Group, vars: &HashMap<String, String>) {
        let (secrets, warnings) = crate::report::redact::group_secrets(group, vars);
        crate::commands::print_diagnostics(&warnings);
        self.reporter.add_secrets(&secrets);
        for value in &secrets {
            self.secrets.add(value);
        }
    }

    /// Hands one outcome to the reporter (under `--update`, once its spec's fixes are written),
    /// with the progress line out of the way. A service that exited is told of first, as the
    /// likely cause: in full by the first failed test printed after it, by a reference to that
    /// one after.
    fn report(&mut self, finished: Finished) {
        let Finished {
            mut outcome,
            service_exits,
            spec,
        } = finished;
        let label = format!("{}: {}", outcome.file.path.display(), outcome.name);
        for exit in service_exits.iter().rev() {
            let failure = match self.exits_shown.get(&exit.index) {
                Some(shown_under) => exit.reference(shown_under),
                None => {
                    self.exits_shown.insert(exit.index, label.clone());
                    exit.failure()
                }
            };
            outcome.failures.insert(0, failure);
        }
        // What the report says of a fix (`UPDATE`) must be true: it is written first, once
        // every run of its spec has finished.
        let Some(held) = self.held.as_mut() else {
            // `--update=never` writes nothing, but says what it did not write.
            if let Some(writer) = self.writer.as_deref_mut() {
                writer.write(&mut [&mut outcome], &self.secrets);
            }
            self.deliver(outcome);
            return;
        };
        if held.push(spec, outcome) {
            self.write_spec(spec);
        }
        self.deliver_ready();
    }

    /// Writes the fixes of a spec's held outcomes.
    fn write_spec(&mut self, spec: usize) {
        let (Some(held), Some(writer)) = (self.held.as_mut(), self.writer.as_deref_mut()) else {
            return;
        };
        let mut outcomes = held.outcomes_of(spec);
        let secrets = &self.secrets;
        blocking(|| writer.write(&mut outcomes, secrets));
        held.mark_written(spec);
    }

    fn deliver_ready(&mut self) {
        let ready = self.held.as_mut().map(Held::ready).unwrap_or_default();
        for outcome in ready {
            self.deliver(outcome);
        }
    }

    /// At the end of a group (or when the run stops): writes what the finished runs of the
    /// specs not finished fixed, and reports every outcome still held.
    fn release_held(&mut self) {
        let unwritten = self.held.as_ref().map(Held::unwritten).unwrap_or_default();
        for spec in unwritten {
            self.write_spec(spec);
        }
        self.deliver_ready();
        self.held = None;
    }

    fn deliver(&mut self, outcome: TestOutcome) {
        self.progress.clear();
        let started = Instant::now();
        self.reporter.test_finished(&outcome);
        self.timings.reporting += started.elapsed();
        provoke_panic_after(&outcome.name);
        self.outcomes.push(outcome);
    }
}

/// Runs `work`, which blocks (file locks and writes), without holding up the tasks of the tests
/// still running: on a multi-threaded runtime they move to another worker meanwhile.
fn blocking<T>(work: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

/// Debug builds only: panics in the run's own loop (not in a test's task, whose panics are caught)
/// once the test named by `STREAMSPEC_DEBUG_PANIC_AFTER` is reported, so that the suite can check
/// that a panic of streamspec leaves no service running. Release builds never read the variable.
fn provoke_panic_after(name: &str) {
    if cfg!(debug_assertions)
        && std::env::var("STREAMSPEC_DEBUG_PANIC_AFTER").is_ok_and(|wanted| wanted == name)
    {
        panic!("provoked panic after `{name}` (STREAMSPEC_DEBUG_PANIC_AFTER)");
    }
}

/// A finished run of a test, and the services that had exited when it failed.
struct Finished {
    outcome: TestOutcome,
    service_exits: Vec<ServiceExit>,
    /// The test's spec (its index in the group).
    spec: usize,
}

/// Runs one test on its own task. A panic (a bug in streamspec) fails the test rather than the
/// run, with what the panic said.
async fn run_one(
    settings: Arc<RunSettings>,
    spec: Arc<Spec>,
    run: Run,
    repeat: u32,
    index: usize,
    watch: ServiceWatch,
) -> (usize, Finished) {
    let test = &spec.tests[run.test];
    let identity = Identity {
        vu: 1,
        iteration: u64::from(run.repetition),
    };
    let result = std::panic::AssertUnwindSafe(run_test_as(&settings, &spec, test, identity))
        .catch_unwind()
        .await;
    let mut outcome = match result {
        Ok(outcome) => outcome,
        Err(panic) => TestOutcome::panicked(
            Arc::clone(&spec.file),
            test.name.value.clone(),
            test.name.span,
            panic.as_ref(),
        ),
    };
    if repeat > 1 {
        outcome.name = format!("{} (run {} of {repeat})", outcome.name, run.repetition);
    }
    let service_exits = if outcome.passed() {
        watch.test_passed(&format!(
            "{}: {}",
            outcome.file.path.display(),
            outcome.name
        ));
        Vec::new()
    } else {
        let error = crate::report::status(&outcome) == crate::report::Status::Error;
        watch.exits_for_failure(error).await
    };
    (
        index,
        Finished {
            outcome,
            service_exits,
            spec: run.spec,
        },
    )
}
