//! `streamspec run`: load and check the specs, start the services their config names, run every
//! test, report, stop the services, and return the exit code.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::cli::{ReportFormat, RunArgs};
use crate::commands::print_diagnostics;
use crate::exit_code;
use crate::interp::{DEFAULT_TIMEOUT, RunSettings, run_test};
use crate::outcome::TestOutcome;
use crate::project::{self, Group, env_vars};
use crate::report::{self, Reporter, Summary};
use crate::services::RunningServices;
use crate::transport::framing::DEFAULT_MAX_ITEM_SIZE;
use crate::transport::http::HttpClient;
use crate::update::UpdateMode;

pub async fn run(args: &RunArgs) -> i32 {
    let project = match project::load(&args.paths, &args.cli_vars()) {
        Ok(project) => project,
        Err(error) => {
            print_diagnostics(&error.diagnostics);
            if error.diagnostics.iter().any(|d| d.label.is_some()) {
                eprintln!("no tests were run: fix the errors above first");
            }
            return error.exit_code;
        }
    };
    print_diagnostics(&project.warnings);
    let client = match HttpClient::new() {
        Ok(client) => client,
        Err(message) => {
            eprintln!("error: {message}");
            return exit_code::SETUP_FAILED;
        }
    };
    // Listening for Ctrl-C starts now, before anything is printed: a listener made later (at
    // the first poll of a `ctrl_c()` future) would miss a signal sent in between, and the run
    // would go on as if it had not come.
    let mut interrupt = match signal(SignalKind::interrupt()) {
        Ok(interrupt) => interrupt,
        Err(error) => {
            eprintln!("error: cannot watch for Ctrl-C: {error}");
            return exit_code::SETUP_FAILED;
        }
    };
    let mut reporter = match report::build(&args.report, args.verbose) {
        Ok(reporter) => reporter,
        Err(message) => {
            eprintln!("error: {message}");
            return exit_code::SETUP_FAILED;
        }
    };
    reporter.run_started(project.test_count(), project.file_count);
    let started = Instant::now();
    let mut outcomes: Vec<TestOutcome> = Vec::new();
    let mut stopped = None;
    for group in &project.groups {
        stopped = run_group(
            group,
            args,
            &client,
            &mut reporter,
            &mut outcomes,
            &mut interrupt,
        )
        .await;
        if stopped.is_some() {
            break;
        }
    }
    if stopped == Some(exit_code::INTERRUPTED) {
        eprintln!(
            "interrupted: {} of {} tests ran",
            outcomes.len(),
            project.test_count()
        );
    }
    let failed = outcomes.iter().filter(|o| !o.passed()).count();
    let summary = Summary {
        passed: outcomes.len() - failed,
        failed,
        duration: started.elapsed(),
    };
    // A service that did not start explains itself; a summary of nothing would only add noise.
    if stopped != Some(exit_code::SETUP_FAILED) || !outcomes.is_empty() {
        reporter.run_finished(&summary, &outcomes);
    }
    let all_updated = match args.update {
        Some(mode) if failed > 0 && stopped.is_none() => {
            update_specs(&outcomes, mode, args.report.format == ReportFormat::Human)
        }
        _ => false,
    };
    match stopped {
        Some(code) => code,
        None if failed > 0 && !all_updated => exit_code::TEST_FAILED,
        None => exit_code::SUCCESS,
    }
}

/// Runs one config's specs with its services up; `Some(code)` when the run must stop.
async fn run_group(
    group: &Group,
    args: &RunArgs,
    client: &HttpClient,
    reporter: &mut impl Reporter,
    outcomes: &mut Vec<TestOutcome>,
    interrupt: &mut Signal,
) -> Option<i32> {
    let mut vars: HashMap<String, String> = HashMap::new();
    let mut services = None;
    if let Some(config) = &group.config {
        let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("streamspec"));
        // Interrupted while starting: dropping what was started stops it.
        let started = tokio::select! {
            started = RunningServices::start(config, &exe) => started,
            _ = interrupt.recv() => return Some(exit_code::INTERRUPTED),
        };
        match started {
            Ok(running) => {
                vars.extend(running.vars().iter().map(|(k, v)| (k.clone(), v.clone())));
                services = Some(running);
            }
            Err(diagnostic) => {
                print_diagnostics(&[diagnostic]);
                return Some(exit_code::SETUP_FAILED);
            }
        }
    }
    // Strongest last: config, then environment, then --var and --secret.
    vars.extend(env_vars());
    vars.extend(args.cli_vars());
    let (secrets, warnings) = report::redact::config_secrets(group.config.as_ref(), &vars);
    print_diagnostics(&warnings);
    reporter.add_secrets(&secrets);
    let timeout = args
        .timeout
        .or_else(|| group.config.as_ref().and_then(|c| c.defaults.timeout))
        .unwrap_or(DEFAULT_TIMEOUT);
    let settings = RunSettings {
        client: client.clone(),
        vars: Arc::new(vars),
        timeout,
        max_item_size: args.max_item_size.unwrap_or(DEFAULT_MAX_ITEM_SIZE),
        // Per group: each group starts its own services.
        schemas: crate::transport::grpc::SchemaCache::new(),
        grpc_schema: group
            .config
            .as_ref()
            .map(|c| c.grpc.clone())
            .unwrap_or_default(),
        record: args.update.is_some(),
    };
    let tests = async {
        for spec in &group.specs {
            for test in &spec.tests {
                let outcome = run_test(&settings, spec, test).await;
                reporter.test_finished(&outcome);
                outcomes.push(outcome);
            }
        }
    };
    // On Ctrl-C the services are still stopped the gentle way (SIGTERM, then a grace period).
    let interrupted = tokio::select! {
        () = tests => false,
        _ = interrupt.recv() => true,
    };
    if let Some(services) = services {
        services.stop().await;
    }
    interrupted.then_some(exit_code::INTERRUPTED)
}

/// `--update`: writes the fixes and says what it did; whether every failure was rewritten in
/// place (then the run counts as passed, as `jest -u` does).
/// The lines go to standard output after the human summary, and to standard error when standard
/// output carries a machine format.
fn update_specs(outcomes: &[TestOutcome], mode: UpdateMode, to_stdout: bool) -> bool {
    let mode = mode.resolve();
    let report = crate::update::apply::apply(outcomes, mode);
    for line in &report.lines {
        if to_stdout {
            println!("{line}");
        } else {
            eprintln!("{line}");
        }
    }
    mode == UpdateMode::InPlace && report.not_written == 0
}
