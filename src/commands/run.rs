//! `streamspec run`: load and check the specs, choose the tests the flags select, run them (see
//! [`crate::runner`]), report, and return the exit code.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use tokio::signal::unix::{SignalKind, signal};

use crate::cli::{ReportFormat, RunArgs};
use crate::commands::{print_diagnostics, print_redacted_diagnostics};
use crate::exit_code;
use crate::outcome::TestOutcome;
use crate::project;
use crate::report::redact::Secrets;
use crate::report::{self, Reporter, Summary};
use crate::runner::select::Selection;
use crate::runner::timings::cpu_time;
use crate::runner::{self, RunOptions, Stopped};
use crate::transport::http::HttpClient;
use crate::update::UpdateMode;

pub async fn run(args: &RunArgs) -> i32 {
    let started = Instant::now();
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
    let loaded = started.elapsed();
    // What `--update` will do, with `auto` made concrete.
    let update_mode = args.update.map(UpdateMode::resolve);
    let recording = update_mode.is_some_and(|mode| mode != UpdateMode::Never);
    let warnings: Vec<_> = project
        .warnings
        .iter()
        .filter(|warning| !(recording && warning.message == crate::check::EMPTY_BLOCK))
        .cloned()
        .collect();
    print_diagnostics(&warnings);
    let scale = &args.scale;
    let selection = Selection {
        filters: scale.filter.clone(),
        tags: scale.tag.clone(),
        skip_tags: scale.skip_tag.clone(),
        shard: scale.shard,
    };
    let plan = selection.plan(&project);
    if plan.tests() == 0 {
        if plan.matched > 0
            && let Some(shard) = scale.shard
        {
            // A CI matrix sized for more tests than there are is not an error.
            eprintln!(
                "shard {shard} has no tests: {} selected, split among {} shards",
                crate::report::plural(plan.matched, "test"),
                shard.count
            );
            return exit_code::SUCCESS;
        }
        print_diagnostics(&[selection.explain_empty(&project)]);
        return exit_code::NO_TESTS;
    }
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
    let options = RunOptions {
        jobs: scale.jobs.map_or_else(runner::default_jobs, |n| n.get()),
        fail_fast: scale.fail_fast,
        repeat: scale.repeat,
        timeout: args.timeout,
        max_item_size: args.max_item_size,
        vars: args.cli_vars(),
        streamspec_exe: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("streamspec")),
        progress: std::io::stderr().is_terminal(),
        record: args.update.is_some(),
    };
    // The one place the reporter is chosen.
    // Where the update writes in place, a test it rewrites is reported as updated.
    let updating = update_mode == Some(UpdateMode::InPlace);
    let mut reporter = match report::build(&args.report, args.verbose, updating) {
        Ok(reporter) => reporter,
        Err(message) => {
            eprintln!("error: {message}");
            return exit_code::SETUP_FAILED;
        }
    };
    let planned = runner::planned_runs(&plan, &options);
    reporter.run_started(planned, plan.files);
    let tests_started = Instant::now();
    let mut result = runner::run(
        &project,
        &plan,
        &options,
        &client,
        &mut *reporter,
        Some(&mut interrupt),
    )
    .await;
    result.timings.load = loaded;
    // A fix that would write a secret into a spec is refused, as every report already showed.
    for (_, value) in &args.report.secrets {
        result.secrets.add(value);
    }
    for outcome in &mut result.outcomes {
        result.secrets.guard_fixes(outcome);
    }
    let ran = result.outcomes.len();
    let failed = result.failed();
    let code = match &result.stopped {
        Some(Stopped::Interrupted) => {
            eprintln!("interrupted: {ran} of {planned} tests ran");
            exit_code::INTERRUPTED
        }
        Some(Stopped::SetupFailed(diagnostic)) => {
            print_redacted_diagnostics(std::slice::from_ref(diagnostic), &result.secrets);
            exit_code::SETUP_FAILED
        }
        Some(Stopped::FailFast) => {
            if result.not_run > 0 {
                eprintln!(
                    "stopped at the first failure (--fail-fast): {} not run",
                    crate::report::plural(result.not_run, "test")
                );
            }
            exit_code::TEST_FAILED
        }
        None if failed > 0 => exit_code::TEST_FAILED,
        None => exit_code::SUCCESS,
    };
    let updated = if updating {
        result.outcomes.iter().filter(|o| o.rewritable()).count()
    } else {
        0
    };
    let summary = Summary {
        passed: ran - failed,
        failed: failed - updated,
        updated,
        duration: tests_started.elapsed(),
    };
    // A service that did not start explains itself; a summary of nothing would only add noise.
    if !matches!(result.stopped, Some(Stopped::SetupFailed(_))) || ran > 0 {
        reporter.run_finished(&summary, &result.outcomes);
    }
    if scale.timings {
        eprint!("{}", result.timings.render(started.elapsed(), cpu_time()));
    }
    let all_updated = match args.update {
        Some(mode) if failed > 0 && result.stopped.is_none() => update_specs(
            &result.outcomes,
            mode,
            args.report.format == ReportFormat::Human,
            &result.secrets,
        ),
        _ => false,
    };
    if all_updated {
        exit_code::SUCCESS
    } else {
        code
    }
}

/// `--update`: writes the fixes and says what it did; whether every failure was rewritten in
/// place (then the run counts as passed, as `jest -u` does). The lines go to standard output
/// after the human summary, and to standard error when standard output carries a machine format;
/// like every report, with `secrets` masked.
fn update_specs(
    outcomes: &[TestOutcome],
    mode: UpdateMode,
    to_stdout: bool,
    secrets: &Secrets,
) -> bool {
    let mode = mode.resolve();
    let report = crate::update::apply::apply(outcomes, mode);
    for line in &report.lines {
        let line = secrets.redact(line);
        if to_stdout {
            println!("{line}");
        } else {
            eprintln!("{line}");
        }
    }
    mode == UpdateMode::InPlace && report.not_written == 0
}
