//! `streamspec load`: load and check the specs, choose the tests, make the profile and the
//! thresholds from the options and the config's `[load]`, run the load (see [`crate::load`]),
//! print the summary or the JSON report, and return the exit code the thresholds decide.

use std::sync::Arc;

use crate::ast::{Spec, StepKind};
use crate::cli::{LoadArgs, LoadFormat};
use crate::commands::{load_asks, print_redacted_diagnostics};
use crate::diagnostic::Diagnostic;
use crate::exit_code;
use crate::load::driver::LoadTest;
use crate::load::json::LoadReport;
use crate::load::profile::Instance;
use crate::load::settings::{LoadSettings, combination_error, config_under};
use crate::load::thresholds::Threshold;
use crate::load::{self, DEFAULT_ABORT_GRACE, LoadError, LoadOptions};
use crate::output::{errln, out, outln};
use crate::project;
use crate::report::redact::Secrets;
use crate::runner::GroupLimits;
use crate::runner::select::Selection;
use crate::style::Palette;

pub async fn load(args: &LoadArgs) -> i32 {
    let mut secrets = Secrets::default();
    for (_, value) in &args.secrets {
        secrets.add(value);
    }
    let mut cli_vars = args.vars.vars.clone();
    cli_vars.extend(args.secrets.iter().cloned());
    let project = match project::load(&args.paths, &cli_vars) {
        Ok(project) => project,
        Err(error) => {
            print_redacted_diagnostics(&error.diagnostics, &secrets);
            return error.exit_code;
        }
    };
    print_redacted_diagnostics(&project.warnings, &secrets);
    let selection = Selection {
        filters: args.filter.clone(),
        tags: args.tag.clone(),
        skip_tags: args.skip_tag.clone(),
        shard: None,
    };
    let plan = selection.plan(&project);
    if plan.tests() == 0 {
        print_redacted_diagnostics(&[selection.explain_empty(&project)], &secrets);
        return exit_code::NO_TESTS;
    }
    if plan.groups.len() > 1 {
        let configs: Vec<String> = plan
            .groups
            .iter()
            .map(|planned| {
                project.groups[planned.group]
                    .config
                    .as_ref()
                    .map_or("(no streamspec.toml)".to_string(), |config| {
                        config.file.path.display().to_string()
                    })
            })
            .collect();
        errln!(
            "error: a load runs the tests of one streamspec.toml at a time, and these tests are under {}: choose with the paths, --filter or --tag",
            configs.join(" and ")
        );
        return exit_code::USAGE_ERROR;
    }
    let planned = &plan.groups[0];
    let group = &project.groups[planned.group];
    let config_load = group
        .config
        .as_ref()
        .map(|config| config.load.clone())
        .unwrap_or_default();

    let given = LoadSettings {
        users: args.users,
        rate: args.rate,
        duration: args.duration,
        iterations: args.iterations,
        stages: args.stages.iter().flatten().copied().collect(),
        think: args.think,
        max_users: args.max_users,
        max_new_users: args.max_new_users,
        graceful_stop: args.graceful_stop,
    };
    // The config's settings fill in what the options leave out — unless the options choose
    // the other model, their own length, or their own stages.
    let weaker = config_under(&given, &config_load.settings);
    let profile = match given.clone().or(&weaker).profile() {
        Ok(profile) => profile,
        Err(message) => {
            errln!("error: {message}");
            return exit_code::USAGE_ERROR;
        }
    };
    if let Some(message) = combination_error(&given, &weaker) {
        errln!("error: {message}");
        return exit_code::USAGE_ERROR;
    }
    if let Some(start_at) = args.start_at
        && let Some(message) = load::start_at::too_far_ahead(start_at, std::time::SystemTime::now())
    {
        errln!("error: {message}");
        return exit_code::USAGE_ERROR;
    }
    let instance = args.instance.map_or(Instance::WHOLE, |shard| Instance {
        index: shard.index as u64,
        count: shard.count as u64,
    });

    // Thresholds: the config's (checked when it was read), then the command line's.
    let mut thresholds = Vec::new();
    let mut diagnostics = Vec::new();
    let config_file = group.config.as_ref().map(|config| Arc::clone(&config.file));
    for written in &config_load.thresholds {
        if let Ok(threshold) = Threshold::parse(&written.text) {
            thresholds.push((threshold, Some(written.span)));
        }
    }
    for text in &args.thresholds {
        match Threshold::parse(text) {
            Ok(threshold) => thresholds.push((threshold, None)),
            Err(message) => diagnostics.push(Diagnostic::error(format!("--threshold: {message}"))),
        }
    }
    // One given twice (in the config and on the command line) is one threshold.
    let mut thresholds = crate::load::thresholds::each_once(thresholds, |(threshold, _)| threshold);
    let asked: Vec<(&Spec, usize)> = planned
        .tests
        .iter()
        .map(|test| (&group.specs[test.spec], test.test))
        .collect();
    // Tests chosen by name or tag may not be those the config's `[load]` was written for: what
    // it asks that they do not give is left out, said, rather than refusing the load.
    let chosen = !args.filter.is_empty() || !args.tag.is_empty() || !args.skip_tag.is_empty();
    let mut left_out = Vec::new();
    let mut tokens_capture = args
        .tokens
        .clone()
        .or_else(|| config_load.tokens.as_ref().map(|name| name.text.clone()));
    if let Some(name) = &tokens_capture
        && let Some(problem) = load_asks::tokens_problem(name, &asked, args.tokens.is_some())
    {
        match (&config_load.tokens, &config_file) {
            (Some(written), Some(file)) if args.tokens.is_none() => {
                let problem = problem.at(file, written.span, "no test captures this");
                if chosen {
                    left_out.push(problem);
                    tokens_capture = None;
                } else {
                    diagnostics.push(problem);
                }
            }
            _ => diagnostics.push(problem),
        }
    }
    thresholds.retain(|(threshold, span)| {
        let Some(message) = load_asks::threshold_problem(
            threshold,
            &asked,
            &[profile.model],
            tokens_capture.is_some(),
        ) else {
            return true;
        };
        match (span, &config_file) {
            (Some(span), Some(file)) => {
                let problem = load_asks::unproducible_at(message, file, *span);
                if chosen {
                    left_out.push(problem);
                    return false;
                }
                diagnostics.push(problem);
            }
            _ => diagnostics.push(Diagnostic::error(message)),
        }
        true
    });
    drop(asked);
    // A test's own thresholds (`threshold p99 gap < 100ms` in it) judge its figures.
    for test in &planned.tests {
        let spec = &group.specs[test.spec];
        let Some(definition) = spec.tests.get(test.test) else {
            continue;
        };
        for step in &definition.steps {
            let StepKind::Threshold(text) = &step.kind else {
                continue;
            };
            // `check` refused one that does not parse before the load.
            let Ok(threshold) = Threshold::parse(&text.value) else {
                continue;
            };
            if let Some(message) = load_asks::threshold_problem(
                &threshold,
                &[(spec, test.test)],
                &[profile.model],
                tokens_capture.is_some(),
            ) {
                diagnostics.push(Diagnostic::error(load_asks::of_the_test(message)).at(
                    &spec.file,
                    text.span,
                    "this test does not produce this",
                ));
                continue;
            }
            thresholds.push((
                Threshold {
                    test: Some(test_label(spec, test.test, &secrets)),
                    ..threshold
                },
                None,
            ));
        }
    }
    if !diagnostics.is_empty() {
        print_redacted_diagnostics(&diagnostics, &secrets);
        return exit_code::USAGE_ERROR;
    }
    let left_out: Vec<Diagnostic> = left_out
        .into_iter()
        .map(|problem| {
            Diagnostic {
                severity: crate::diagnostic::Severity::Warning,
                ..problem
            }
            .note("left out of this load: --filter, --tag or --skip-tag chose tests that do not give it")
        })
        .collect();
    print_redacted_diagnostics(&left_out, &secrets);

    let tests: Vec<LoadTest> = planned
        .tests
        .iter()
        .map(|test| {
            let spec = &group.specs[test.spec];
            LoadTest {
                spec: Arc::new(spec.clone()),
                test: test.test,
                label: test_label(spec, test.test, &secrets),
            }
        })
        .collect();
    let test_count = tests.len();
    // With thresholds, every iteration must still pass unless one says how many may fail.
    let written: Vec<Threshold> = thresholds
        .iter()
        .map(|(threshold, _)| threshold.clone())
        .collect();
    if tokens_capture.is_none() {
        for threshold in &written {
            if let crate::load::thresholds::Measure::Distribution(metric, _) = threshold.measure
                && let Some(items) = metric.timed_by_items_without_tokens()
            {
                errln!(
                    "warning: `{}`: without --tokens every item counts as a token, so it measures `{}` (an OpenAI-style stream's first chunk carries only the role); name the capture that takes each token with --tokens NAME",
                    secrets.redact(&threshold.text),
                    items.label()
                );
            }
        }
    }
    let labels: Vec<String> = tests.iter().map(|test| test.label.clone()).collect();
    let open = profile.model == crate::load::profile::Model::Open;
    let implied = if written.is_empty() && args.abort_on_fail {
        load::implied::rule(open)
    } else {
        load::implied::thresholds(&written, &labels, open)
    };
    thresholds.extend(implied.into_iter().map(|threshold| (threshold, None)));
    // A report that cannot be written is known before the load, not after it.
    if let Err(message) = crate::report::paths::check_distinct(
        &report_files(args.report_json.as_deref(), args.report_html.as_deref()),
        &project.source_paths(),
        "a spec or config file of the load",
    ) {
        errln!("error: {message}");
        return exit_code::SETUP_FAILED;
    }
    if let Some(path) = &args.report_json
        && let Err(error) = crate::report::file::write_whole(path, "")
    {
        errln!("error: cannot write {}: {error}", path.display());
        return exit_code::SETUP_FAILED;
    }
    if let Some(path) = &args.report_html
        && let Err(message) = crate::report::html::load::check_writable(path)
    {
        errln!("error: {message}");
        return exit_code::SETUP_FAILED;
    }
    let most_users = profile.peak().floor() as usize;
    if profile.model == crate::load::profile::Model::Closed && most_users < test_count {
        let idle = test_count - most_users;
        errln!(
            "warning: {test_count} tests but at most {}: each user runs one test, so {} {} none",
            crate::report::plural(most_users, "user"),
            crate::report::plural(idle, "test"),
            if idle == 1 { "gets" } else { "get" }
        );
    }
    if let Some(message) = empty_instance(&profile, instance, test_count as u64) {
        errln!("error: {message}");
        return exit_code::USAGE_ERROR;
    }
    // This part's users at the peak, each with a connection open at least.
    let users_here = instance.share_in_blocks(profile.peak().floor() as u64, test_count as u64);
    if profile.model == crate::load::profile::Model::Closed
        && instance.count > 1
        && users_here > 0
        && users_here < test_count as u64
    {
        errln!(
            "warning: --instance {instance} gets {} for {test_count} tests: each user runs one test, so {} of them {} none in this part (give at least {} users for every part to run every test)",
            crate::report::plural(users_here as usize, "user"),
            test_count - users_here as usize,
            if test_count - users_here as usize == 1 {
                "gets"
            } else {
                "get"
            },
            instance.count * test_count as u64
        );
    }
    if profile.model == crate::load::profile::Model::Closed
        && let Some((needed, limit)) = crate::open_files::users_beyond_limit(users_here)
    {
        errln!(
            "warning: {} need at least {} open files (a connection each) and the open-file limit (ulimit -n) is {}: the connections past it fail as `open files` errors, the load generator's and not the service's; raise the hard limit (as root: `ulimit -Hn`, or `LimitNOFILE=` for a systemd unit)",
            crate::report::plural(users_here as usize, "user"),
            crate::load::summary::count(needed),
            crate::load::summary::count(limit)
        );
    }
    // The default grace too: `--abort-on-fail` on a 2s run otherwise judges nothing but the
    // thresholds lost for good before the end, and says nothing of it.
    let abort_grace = args.abort_grace.unwrap_or(DEFAULT_ABORT_GRACE);
    if args.abort_on_fail && !profile.stages.is_empty() && abort_grace > profile.duration() {
        let (grace, hint) = match args.abort_grace {
            Some(grace) => (crate::duration::format_duration(grace), String::new()),
            None => (
                format!(
                    "(by default {})",
                    crate::duration::format_duration(DEFAULT_ABORT_GRACE)
                ),
                "; give a shorter --abort-grace to judge them sooner".to_string(),
            ),
        };
        errln!(
            "warning: --abort-grace {grace} is longer than the run ({}): the thresholds are judged before the end only once one can no longer pass{hint}",
            crate::duration::format_duration(profile.duration())
        );
    }
    let (client, mut signals) = match super::client_and_signals() {
        Ok(set_up) => set_up,
        Err(code) => return code,
    };
    let options = LoadOptions {
        profile,
        instance,
        start_at: args.start_at,
        thresholds: thresholds
            .into_iter()
            .map(|(threshold, _)| threshold)
            .collect(),
        tokens_capture,
        abort_on_fail: args.abort_on_fail,
        abort_grace,
        limits: GroupLimits {
            timeout: args.timeout,
            max_item_size: args.max_item_size,
        },
        vars: cli_vars,
        streamspec_exe: std::env::current_exe()
            .unwrap_or_else(|_| std::path::PathBuf::from("streamspec")),
    };
    if args.format == LoadFormat::Human {
        out!(
            "{}",
            secrets.redact(&load::summary::header(
                test_count,
                &options.profile,
                options.instance
            ))
        );
    }
    let (report, signal) = match load::run(group, tests, &options, &client, &mut signals).await {
        Ok(finished) => {
            for value in &finished.secrets {
                secrets.add(value);
            }
            (finished.report, finished.signal)
        }
        Err(LoadError::Setup(diagnostic)) => {
            // What a service printed may hold a secret the config names, set on the command
            // line or in the environment (its `[vars]` were not worked out: `run` does the same).
            let mut vars = crate::project::env_vars();
            vars.extend(options.vars.iter().cloned());
            let (values, _) = crate::report::redact::group_secrets(group, &vars);
            for value in &values {
                secrets.add(value);
            }
            print_redacted_diagnostics(&[diagnostic], &secrets);
            return exit_code::SETUP_FAILED;
        }
        Err(LoadError::Interrupted(signal)) => return signal.exit_code(),
    };
    let mut report = report;
    let code = print_report(
        &mut report,
        args.format,
        args.report_json.as_deref(),
        &secrets,
    );
    let code =
        crate::report::html::load::write_for(&report, args.report_html.as_deref(), &secrets, code);
    match signal {
        Some(signal) => signal.exit_code(),
        None => code,
    }
}

/// Gives the report its verdict (see [`load::verdict`]), prints the summary (or the JSON
/// report), writes the JSON report where asked, and returns the exit code.
pub fn print_report(
    report: &mut LoadReport,
    format: LoadFormat,
    report_json: Option<&std::path::Path>,
    secrets: &Secrets,
) -> i32 {
    let verdict = load::verdict::judge(report);
    report.passed = Some(verdict.passed);
    report.failed_because = verdict.failed_because;
    let report = &*report;
    let json = match serde_json::to_string_pretty(report) {
        Ok(json) => secrets.redact(&json),
        Err(error) => {
            errln!("error: cannot write the report as JSON: {error}");
            return exit_code::SETUP_FAILED;
        }
    };
    match format {
        LoadFormat::Human => out!(
            "{}",
            secrets.redact(&load::summary::render(report, &Palette::for_stdout()))
        ),
        LoadFormat::Json => outln!("{json}"),
    }
    if let Some(path) = report_json
        && let Err(error) = crate::report::file::write_whole(path, format!("{json}\n"))
    {
        errln!("error: cannot write {}: {error}", path.display());
        return exit_code::SETUP_FAILED;
    }
    for message in &verdict.messages {
        errln!("{}", secrets.redact(message));
    }
    if verdict.passed {
        exit_code::SUCCESS
    } else {
        exit_code::TEST_FAILED
    }
}

/// The error when `instance` would run nothing: fewer users (or iterations) than it takes for
/// one to reach its part. Users and arrivals go to the parts in blocks of one per test.
fn empty_instance(
    profile: &crate::load::profile::Profile,
    instance: Instance,
    tests: u64,
) -> Option<String> {
    use crate::load::profile::Model;
    if instance.count <= 1 {
        return None;
    }
    // `block`: how many go to a part at a time; `how`: why.
    let dealt = |what: &str, total: u64, block: u64, how: &str| {
        // Enough for this part to get a whole block: with several tests, one user of each.
        let needed = instance.index * block;
        let of = if total == 1 {
            what.trim_end_matches('s')
        } else {
            what
        };
        format!(
            "--instance {instance} gets no {what}: {what} go to the parts {how}, so of {total} {of} part {} gets none; give at least {needed} {what}, or fewer parts",
            instance.index
        )
    };
    let per_test = format!("in blocks of {tests} (one per test)");
    if profile.model == Model::Closed {
        let users = profile.peak().floor().max(0.0) as u64;
        if instance.share_in_blocks(users, tests) == 0 {
            return Some(dealt("users", users, tests, &per_test));
        }
        // Each user claims the next of its part's iterations: they are dealt one at a time.
        if let Some(iterations) = profile.iterations
            && instance.share_of(iterations) == 0
        {
            return Some(dealt("iterations", iterations, 1, "one at a time"));
        }
    } else if let Some(iterations) = profile.iterations
        && instance.share_in_blocks(iterations, tests) == 0
    {
        return Some(dealt("iterations", iterations, tests, &per_test));
    } else if profile.iterations.is_none()
        && let Some(arrivals) = profile.arrivals()
        && instance.share_in_blocks(arrivals, tests) == 0
    {
        return Some(dealt("arrivals", arrivals, tests, &per_test).replace(
            ", or fewer parts",
            " (a higher --rate or a longer --duration), or fewer parts",
        ));
    }
    None
}

/// A test as the load's report names it: `file: name`.
fn test_label(spec: &Spec, test: usize, secrets: &Secrets) -> String {
    let name = spec
        .tests
        .get(test)
        .map_or("", |test| test.name.value.as_str());
    secrets.redact(&format!("{}: {name}", spec.file.path.display()))
}

/// The report files of `load` and `merge`, each with its option.
pub fn report_files<'a>(
    report_json: Option<&'a std::path::Path>,
    report_html: Option<&'a std::path::Path>,
) -> Vec<crate::report::paths::Named<'a>> {
    [
        ("--report-json", report_json),
        ("--report-html", report_html),
    ]
    .into_iter()
    .filter_map(|(option, path)| Some((option, path?)))
    .collect()
}
