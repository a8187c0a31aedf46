//! Load mode (`streamspec load`): the selected tests run as many virtual users at once, by a
//! closed or open model and its stages, every iteration a real run of the test with every item
//! matched. Once a second the run samples what it read, the services' CPU and memory and its
//! own, and draws the live line; at the end it gives a [`json::LoadReport`], which the summary
//! renders and thresholds judge, and which `streamspec merge` combines across instances.

pub mod driver;
pub mod implied;
pub mod json;
pub mod live;
pub mod live_figures;
pub mod merge;
pub mod metrics;
pub mod profile;
pub mod recorder;
pub mod sampler;
pub mod saturation;
pub mod series;
pub mod settings;
pub mod start_at;
pub mod summary;
pub mod thresholds;
pub mod verdict;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio_util::sync::CancellationToken;

use crate::diagnostic::Diagnostic;
use crate::output::errln;
use crate::project::{Group, env_vars};
use crate::runner::{GroupLimits, group_settings};
use crate::services::RunningServices;
use crate::stop_signals::{StopSignal, StopSignals};
use crate::transport::http::HttpClient;
use driver::{LoadContext, LoadTest, drive};
use json::{ClientReport, LoadReport, ServiceExited, ServiceReport, ServiceSample, TestReport};
use profile::{Instance, Model, Profile};

use recorder::{Recorder, SecondSample};
use sampler::{GroupSampler, MachineSampler, SelfSampler};
use thresholds::Threshold;

/// How often the lag probe's timer is meant to fire.
const LAG_PROBE: Duration = Duration::from_millis(100);

/// With `--abort-on-fail`, thresholds are judged from this long after the start (unless one is
/// lost for good before), so that a slow first second does not end the run.
pub const DEFAULT_ABORT_GRACE: Duration = Duration::from_secs(10);

pub struct LoadOptions {
    pub profile: Profile,
    pub instance: Instance,
    /// `--start-at`: when the schedule starts, on the wall clock (instances keep in step).
    pub start_at: Option<SystemTime>,
    pub thresholds: Vec<Threshold>,
    /// `--tokens NAME`: the capture that counts output tokens.
    pub tokens_capture: Option<String>,
    pub abort_on_fail: bool,
    pub abort_grace: Duration,
    pub limits: GroupLimits,
    /// `--var` and `--secret`.
    pub vars: Vec<(String, String)>,
    pub streamspec_exe: std::path::PathBuf,
}

/// How a load run went wrong before it could measure anything.
pub enum LoadError {
    /// A service did not start.
    Setup(Diagnostic),
    Interrupted(StopSignal),
}

/// The report, and the stop signal that ended the run early, if one did.
pub struct Finished {
    pub report: LoadReport,
    pub signal: Option<StopSignal>,
    /// The values of the variables the config names in `secrets`, known once its services
    /// chose their ports: every report masks them, as `run`'s do.
    pub secrets: Vec<String>,
}

/// Runs `tests` (all of `group`) under `options`.
pub async fn run(
    group: &Group,
    tests: Vec<LoadTest>,
    options: &LoadOptions,
    client: &HttpClient,
    signals: &mut StopSignals,
) -> Result<Finished, LoadError> {
    let mut vars: HashMap<String, String> = HashMap::new();
    let mut services = None;
    if let Some(config) = &group.config {
        let started = tokio::select! {
            started = RunningServices::start(config, &options.streamspec_exe) => started,
            signal = signals.recv() => return Err(LoadError::Interrupted(signal)),
        };
        let running = started.map_err(LoadError::Setup)?;
        vars.extend(running.vars().iter().map(|(k, v)| (k.clone(), v.clone())));
        services = Some(running);
    }
    vars.extend(env_vars());
    vars.extend(options.vars.iter().cloned());
    let (secrets, warnings) = crate::report::redact::group_secrets(group, &vars);
    crate::commands::print_diagnostics(&warnings);
    let run_id = crate::interp::vars::new_uuid();
    let mut settings = group_settings(group, vars, client, &run_id, options.limits, false);
    settings.tokens_capture = options.tokens_capture.clone();
    let settings = Arc::new(settings);
    crate::interp::stats::keep_gaps_for_load();
    crate::interp::stop_reading_at_failures();
    let result = measure(tests, options, settings, services.as_ref(), signals)
        .await
        .map(|finished| Finished {
            secrets,
            ..finished
        });
    if let Some(services) = services {
        tokio::select! {
            () = services.stop() => {}
            _ = signals.recv() => {}
        }
    }
    result
}

/// The run itself, with the services up.
async fn measure(
    tests: Vec<LoadTest>,
    options: &LoadOptions,
    settings: Arc<crate::interp::RunSettings>,
    services: Option<&RunningServices>,
    signals: &mut StopSignals,
) -> Result<Finished, LoadError> {
    if let Some(start_at) = options.start_at {
        let now = SystemTime::now();
        // Said always, not only on a terminal: a CI log shows why nothing happens for a while.
        errln!("{}", start_at::notice(start_at, now));
        if let Ok(wait) = start_at.duration_since(now) {
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                signal = signals.recv() => return Err(LoadError::Interrupted(signal)),
            }
        }
    }
    let started_wall = SystemTime::now();
    let started = Instant::now();
    let names: Vec<String> = tests.iter().map(|test| test.label.clone()).collect();
    let scoped = options
        .thresholds
        .iter()
        .any(|threshold| threshold.test.is_some());
    let stop = CancellationToken::new();
    let mut recorder = Recorder::new(tests.len(), started);
    recorder.schedule_end =
        (!options.profile.stages.is_empty()).then(|| options.profile.duration());
    if options.abort_on_fail {
        recorder.abort_on_lost_counts(&options.thresholds, &names, stop.clone());
    }
    let recorder = Arc::new(Mutex::new(recorder));
    let exits = Arc::new(Mutex::new(BTreeMap::new()));
    let exit_watch = services
        .map(|services| tokio::spawn(note_exits(services.watch(), started, Arc::clone(&exits))));
    let ctx = Arc::new(LoadContext {
        settings,
        tests,
        recorder: Arc::clone(&recorder),
        started,
        active: AtomicU64::new(0),
        active_peak: AtomicU64::new(0),
        instance: options.instance,
        cut_off: CancellationToken::new(),
    });
    let mut driver = tokio::spawn(drive(
        Arc::clone(&ctx),
        options.profile.clone(),
        stop.clone(),
    ));
    let lag = Arc::new(AtomicU64::new(0));
    let lag_probe = tokio::spawn(probe_lag(Arc::clone(&lag)));

    let mut groups: Vec<GroupSampler> = services
        .map(RunningServices::process_groups)
        .unwrap_or_default()
        .into_iter()
        .map(|(name, pgid)| GroupSampler::new(name, pgid))
        .collect();
    for group in &mut groups {
        group.sample();
    }
    let mut service_samples: Vec<Vec<ServiceSample>> = vec![Vec::new(); groups.len()];
    let mut own_cpu = SelfSampler::default();
    own_cpu.cpu_percent();
    let mut machine = MachineSampler::default();
    machine.busy_percent();
    let cpus = crate::runner::default_jobs() as u64;
    let mut client = ClientReport {
        cpus,
        ..ClientReport::default()
    };
    let active_word = match options.profile.model {
        Model::Closed => "users",
        Model::Open => "running",
    };
    let planned = (!options.profile.stages.is_empty()).then(|| options.profile.duration());
    let mut live = live::LiveLine::new(planned, options.profile.iterations, active_word);
    // What the streams measured, taken once a second (items, and latencies as they came).
    let mut figures = live_figures::Collector::default();
    let mut stopped = None;
    let mut signal = None;
    let mut tick = tokio::time::interval_at(
        tokio::time::Instant::from_std(started + Duration::from_secs(1)),
        Duration::from_secs(1),
    );
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut saturation_now: Option<String>;
    let mut saturated = saturation::Noted::default();
    loop {
        let finished = tokio::select! {
            _ = &mut driver => true,
            _ = tick.tick() => false,
            received = signals.recv(), if signal.is_none() => {
                signal = Some(received);
                stopped = Some(format!("interrupted by {}", received.name()));
                stop.cancel();
                continue;
            }
        };
        // The second's start: the load's start plus the seconds closed before it (the last,
        // partial one included, so no two share a time).
        let closed = recorder
            .lock()
            .map_or(0, |recorder| recorder.series.seconds() as u64);
        let t = unix_seconds(started_wall) + closed;
        let cpu = own_cpu.cpu_percent();
        let lag_ms = lag.swap(0, Ordering::Relaxed) as f64 / 1000.0;
        if let Some(cpu) = cpu {
            client.max_cpu_percent = client.max_cpu_percent.max(cpu);
        }
        client.max_loop_lag_ms = client.max_loop_lag_ms.max(lag_ms);
        let causes = saturation::causes(&saturation::Second {
            own_cpu: cpu,
            cpus,
            machine_busy: machine.busy_percent(),
            lag_ms,
        });
        saturated.add(&causes, &summary_clock(started.elapsed()));
        saturation_now = (!causes.is_empty()).then(|| {
            causes
                .iter()
                .map(|cause| cause.live(cpus))
                .collect::<Vec<_>>()
                .join(", ")
        });
        for (index, group) in groups.iter_mut().enumerate() {
            if let Some(sample) = group.sample() {
                service_samples[index].push(ServiceSample {
                    t,
                    cpu_percent: sample.cpu_percent,
                    rss_bytes: sample.rss_bytes,
                });
            }
        }
        let (second, total, tests_now, lost) = {
            let Ok(mut recorder) = recorder.lock() else {
                break;
            };
            let measured = figures.take();
            let second = recorder
                .close_second(SecondSample {
                    t,
                    active: ctx.take_active_peak(),
                    items_total: measured.items_total,
                    latencies: measured.latencies,
                    client_cpu_percent: cpu,
                    loop_lag_ms: Some(lag_ms),
                })
                .clone();
            // A test's own thresholds judge its figures as they stand.
            let tests = if scoped {
                recorder.tests.clone()
            } else {
                Vec::new()
            };
            (second, recorder.total(), tests, recorder.lost.clone())
        };
        if let Some(lost) = lost
            && stopped.is_none()
        {
            stopped = Some(format!("the threshold `{lost}` failed (--abort-on-fail)"));
        }
        live.draw(&live::Live {
            elapsed: started.elapsed(),
            second: &second,
            iterations: total.counts.iterations,
            failed: total.counts.failed,
            errored: total.counts.errored,
            saturation: saturation_now.as_deref(),
        });
        if finished {
            break;
        }
        if options.abort_on_fail
            && stopped.is_none()
            && let Some(lost) = lost_threshold(
                options,
                &total,
                test_figures(&names, &tests_now),
                started.elapsed(),
            )
        {
            stopped = Some(format!("the threshold `{lost}` failed (--abort-on-fail)"));
            stop.cancel();
        }
    }
    live.clear();
    lag_probe.abort();
    if let Some(exit_watch) = exit_watch {
        // The services are stopped after this: that exit is not one to report.
        exit_watch.abort();
    }
    let mut exits = std::mem::take(&mut *exits.lock().unwrap_or_else(|e| e.into_inner()));
    let elapsed = started.elapsed();
    // Rates are of the iterations that ended within the schedule, per second of it: the wait
    // for the last iterations to end is not time the load was offered, and what ended in it is
    // not counted (a run that stopped early, or ran to a number of iterations, counts the time
    // it took and all it did).
    let rate_span = match recorder.lock().map(|recorder| recorder.schedule_end) {
        Ok(Some(end)) => elapsed.min(end),
        _ => elapsed,
    };
    let (measured, series, total) = {
        let mut recorder = recorder.lock().unwrap_or_else(|e| e.into_inner());
        let total = recorder.total();
        (
            std::mem::take(&mut recorder.tests),
            recorder.series.take(),
            total,
        )
    };
    client.saturation.extend(saturated.notes(cpus));
    if total.counts.errored > 0 && total.errors.contains_key(&metrics::ErrorClass::Files) {
        client.saturation.push(format!(
            "the open-file limit (ulimit -n {}) was reached: connections failed on the load generator's side",
            crate::open_files::soft_limit().map_or("?".to_string(), |limit| limit.to_string())
        ));
    }
    let tests: Vec<TestReport> = names
        .iter()
        .zip(&measured)
        .map(|(name, measured)| TestReport::new(name, measured, rate_span))
        .collect();
    let mut report = LoadReport {
        streamspec_load: json::FORMAT,
        version: env!("CARGO_PKG_VERSION").to_string(),
        duration_unit: json::DURATION_UNIT.to_string(),
        instance: options.instance,
        profile: options.profile.clone(),
        started_at_unix_ms: started_wall
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
        elapsed,
        stopped,
        warnings: Vec::new(),
        merged_from: Vec::new(),
        passed: None,
        failed_because: Vec::new(),
        tests,
        total: TestReport::new("total", &total, rate_span),
        series,
        services: services_report(&groups, service_samples, &mut exits),
        client,
        thresholds: options
            .thresholds
            .iter()
            // A part of a load that ran none of a test leaves that test's own thresholds to
            // `merge`: judged on nothing, they failed a healthy part.
            .filter(|threshold| {
                options.instance.count <= 1
                    || threshold.test.as_deref().is_none_or(|label| {
                        test_figures(&names, &measured)(label).is_some_and(|figures| {
                            let counts = &figures.counts;
                            counts.iterations + counts.interrupted + counts.dropped > 0
                        })
                    })
            })
            .map(|threshold| threshold.judge(&total, test_figures(&names, &measured), rate_span))
            .collect(),
    };
    report.clamp_series_to_extremes();
    Ok(Finished {
        report,
        signal,
        secrets: Vec::new(),
    })
}

/// Each sampled service with its samples and its exit, then any other service that exited.
fn services_report(
    groups: &[GroupSampler],
    samples: Vec<Vec<ServiceSample>>,
    exits: &mut BTreeMap<String, ServiceExited>,
) -> Vec<ServiceReport> {
    let mut report: Vec<ServiceReport> = groups
        .iter()
        .zip(samples)
        .map(|(group, samples)| ServiceReport {
            name: group.name.clone(),
            instance: None,
            samples,
            not_sampled: group.not_sampled(),
            exited: exits.remove(&group.name),
        })
        .collect();
    report.extend(
        std::mem::take(exits)
            .into_iter()
            .map(|(name, exited)| ServiceReport {
                name,
                instance: None,
                samples: Vec::new(),
                not_sampled: None,
                exited: Some(exited),
            }),
    );
    report
}

/// Notes each service's exit, and when it came, as it comes.
async fn note_exits(
    watch: crate::services::ServiceWatch,
    started: Instant,
    exits: Arc<Mutex<BTreeMap<String, ServiceExited>>>,
) {
    use futures_util::StreamExt;
    let mut pending: futures_util::stream::FuturesUnordered<_> = watch
        .exits()
        .into_iter()
        .map(|(name, exit)| async move { (name, exit.await) })
        .collect();
    while let Some((name, exit)) = pending.next().await {
        let Some(exit) = exit else { continue };
        let exited = ServiceExited {
            how: exit.how,
            at_ms: exit
                .at
                .saturating_duration_since(started)
                .as_millis()
                .min(u128::from(u64::MAX)) as u64,
            output: exit.output,
        };
        if let Ok(mut exits) = exits.lock() {
            exits.insert(name, exited);
        }
    }
}

/// A threshold that fails now (past the grace period) or can never pass again.
fn lost_threshold<'a>(
    options: &LoadOptions,
    total: &'a metrics::Measured,
    tests: impl Fn(&str) -> Option<&'a metrics::Measured>,
    elapsed: Duration,
) -> Option<String> {
    options.thresholds.iter().find_map(|threshold| {
        let verdict = threshold.judge(total, &tests, elapsed);
        let lost = threshold.lost_for_good(&verdict)
            || (elapsed >= options.abort_grace && verdict.measured.is_some() && !verdict.passed);
        lost.then(|| verdict.label())
    })
}

/// The figures of the test labelled `label`, among `measured` (by test, in `names`' order).
fn test_figures<'a>(
    names: &'a [String],
    measured: &'a [metrics::Measured],
) -> impl Fn(&str) -> Option<&'a metrics::Measured> {
    move |label| {
        names
            .iter()
            .position(|name| name == label)
            .and_then(|index| measured.get(index))
    }
}

fn summary_clock(elapsed: Duration) -> String {
    let seconds = elapsed.as_secs();
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Measures how late a timer meant to fire every [`LAG_PROBE`] fires, keeping the worst of
/// each second (in microseconds) for the sampler to take.
async fn probe_lag(worst: Arc<AtomicU64>) {
    let mut next = Instant::now() + LAG_PROBE;
    loop {
        tokio::time::sleep_until(next.into()).await;
        let late = Instant::now().saturating_duration_since(next);
        worst.fetch_max(metrics::micros(late), Ordering::Relaxed);
        next = Instant::now() + LAG_PROBE;
    }
}
