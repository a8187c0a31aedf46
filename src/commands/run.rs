//! `streamspec run`: load and check the specs, choose the tests the flags select, run them (see
//! [`crate::runner`]), report, and return the exit code.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use crate::cli::{ReportFormat, RunArgs};
use crate::commands::print_redacted_diagnostics;
use crate::exit_code;
use crate::open_files;
use crate::output::{err, errln, outln};
use crate::project;
use crate::report::redact::Secrets;
use crate::report::{self, Reporter, Summary};
use crate::runner::select::Selection;
use crate::runner::timings::cpu_time;
use crate::runner::{self, RunOptions, Stopped};
use crate::stop_signals::StopSignal;
use crate::update::UpdateMode;
use crate::update::apply::SpecWriter;

pub async fn run(args: &RunArgs) -> i32 {
    let started = Instant::now();
    // What is printed before the run masks the `--secret` values too (a spec file or a test
    // named after one); those a config names are known once its variables are.
    let mut cli_secrets = Secrets::default();
    for (_, value) in &args.report.secrets {
        cli_secrets.add(value);
    }
    let project = match project::load(&args.paths, &args.cli_vars()) {
        Ok(project) => project,
        Err(error) => {
            print_redacted_diagnostics(&error.diagnostics, &cli_secrets);
            if error.diagnostics.iter().any(|d| d.label.is_some()) {
                errln!("no tests were run: fix the errors above first");
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
    print_redacted_diagnostics(&warnings, &cli_secrets);
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
            errln!(
                "shard {shard} has no tests: {} selected, split among {} shards",
                crate::report::plural(plan.matched, "test"),
                shard.count
            );
            return exit_code::SUCCESS;
        }
        print_redacted_diagnostics(&[selection.explain_empty(&project)], &cli_secrets);
        return exit_code::NO_TESTS;
    }
    let (client, mut signals) = match super::client_and_signals() {
        Ok(set_up) => set_up,
        Err(code) => return code,
    };
    let options = RunOptions {
        jobs: jobs_within_the_open_file_limit(scale.jobs.map(|n| n.get())),
        fail_fast: scale.fail_fast,
        repeat: scale.repeat,
        timeout: args.timeout,
        max_item_size: args.max_item_size,
        vars: args.cli_vars(),
        streamspec_exe: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("streamspec")),
        progress: std::io::stderr().is_terminal(),
        record: args.update.is_some(),
        secrets: args
            .report
            .secrets
            .iter()
            .map(|(_, value)| value.clone())
            .collect(),
    };
    // The one place the reporter is chosen.
    // Where the update writes in place, a test it rewrites is reported as updated.
    let updating = update_mode == Some(UpdateMode::InPlace);
    let mut reports = match report::build(
        &args.report,
        args.verbose,
        updating,
        &project.source_paths(),
    ) {
        Ok(reports) => reports,
        Err(message) => {
            errln!("error: {message}");
            return exit_code::SETUP_FAILED;
        }
    };
    // `--update` writes each spec's fixes before its tests are reported; never a secret.
    let mut writer = update_mode.map(|mode| {
        let mut secrets = crate::report::redact::Secrets::default();
        for (_, value) in &args.report.secrets {
            secrets.add(value);
        }
        SpecWriter::new(mode, secrets)
    });
    let planned = runner::planned_runs(&plan, &options);
    reports.reporter.run_started(planned, plan.files);
    let tests_started = Instant::now();
    let mut result = runner::run(
        &project,
        &plan,
        &options,
        &client,
        &mut *reports.reporter,
        Some(&mut signals),
        writer.as_mut(),
    )
    .await;
    result.timings.load = loaded;
    for (_, value) in &args.report.secrets {
        result.secrets.add(value);
    }
    // A fix that would write a secret into a spec is refused, as every report already showed.
    for outcome in &mut result.outcomes {
        result.secrets.guard_fixes(outcome);
    }
    let ran = result.outcomes.len();
    let failed = result.failed();
    let code = match &result.stopped {
        Some(Stopped::Interrupted(signal)) => {
            if *signal == StopSignal::INTERRUPT {
                errln!("interrupted: {ran} of {planned} tests ran");
            } else {
                errln!("stopped by {}: {ran} of {planned} tests ran", signal.name());
            }
            signal.exit_code()
        }
        Some(Stopped::SetupFailed(diagnostic)) => {
            print_redacted_diagnostics(std::slice::from_ref(diagnostic), &result.secrets);
            exit_code::SETUP_FAILED
        }
        Some(Stopped::FailFast) => {
            if result.not_run > 0 {
                errln!(
                    "stopped at the first failure (--fail-fast): {} not run",
                    crate::report::plural(result.not_run, "test")
                );
            }
            exit_code::TEST_FAILED
        }
        None if failed > 0 => exit_code::TEST_FAILED,
        None => exit_code::SUCCESS,
    };
    // The summary counts only the tests whose fixes were written (a fix that could not be
    // written no longer is one); what was written stays, however the run ended.
    let update = match writer {
        Some(writer) if failed > 0 => {
            let mut update = writer.finish();
            let hint = crate::update::pending::gitignore_hint(&update.pending_written).await;
            update.lines.extend(hint);
            Some(update)
        }
        _ => None,
    };
    let summary = Summary::count(&result.outcomes, updating, tests_started.elapsed());
    // A service that did not start explains itself; a summary of nothing would only add noise.
    if !matches!(result.stopped, Some(Stopped::SetupFailed(_))) || ran > 0 {
        reports.reporter.run_finished(&summary, &result.outcomes);
    }
    if scale.timings {
        err!("{}", result.timings.render(started.elapsed(), cpu_time()));
    }
    let code = match update {
        None => code,
        Some(update) => {
            // What the update did goes to standard output after the human summary, and to
            // standard error when standard output carries a machine format.
            for line in &update.lines {
                if args.report.format == ReportFormat::Human {
                    outln!("{}", result.secrets.redact(line));
                } else {
                    errln!("{}", result.secrets.redact(line));
                }
            }
            // Every failure rewritten in place: the run counts as passed, as `jest -u` does
            // (a run stopped early did not run every test, and says so in its code).
            if updating && update.not_written == 0 && result.stopped.is_none() {
                exit_code::SUCCESS
            } else {
                code
            }
        }
    };
    // A report cut short must not pass for the whole (a stop signal's code says more).
    let finished = reports.finish(Some(&mut signals)).await;
    for message in &finished.errors {
        errln!("error: {message}");
    }
    if let Some(signal) = finished.stopped {
        signal.exit_code()
    } else if finished.errors.is_empty() || code >= 128 {
        code
    } else {
        exit_code::SETUP_FAILED
    }
}

/// The tests to run at once: `-j` (or one per CPU), fewer if the open-file limit has no room for
/// that many, which a note on standard error then says.
fn jobs_within_the_open_file_limit(asked: Option<usize>) -> usize {
    let wanted = asked.unwrap_or_else(runner::default_jobs);
    let fit = open_files::jobs_fit(wanted);
    if let Some(limit) = fit.reduced_by_limit {
        let asked = match asked {
            Some(jobs) => format!("-j {jobs}"),
            None => format!("-j {wanted} (one per CPU)"),
        };
        errln!(
            "note: {asked} reduced to {}: the open-file limit (ulimit -n) is {limit}, and each \
             running test may need {} open files",
            fit.jobs,
            open_files::PER_TEST
        );
    }
    fit.jobs
}
