//! What a load's thresholds and token capture ask of its tests that none of them gives: a
//! metric they do not produce, a capture they do not make. `load` refuses such a load before it
//! starts (or, when `--filter`/`--tag` chose some of the tests, leaves the config's asks out with
//! a warning); `check` reports the config's against every test under it.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::ast::{Expectation, Spec, StepKind, for_each_step};
use crate::diagnostic::Diagnostic;
use crate::load::profile::Model;
use crate::load::thresholds::Threshold;
use crate::project::Project;
use crate::source::{SourceFile, Span};

/// The tests a load runs: each spec with the index of one of its tests.
pub type Tests<'a> = [(&'a Spec, usize)];

/// Why `threshold` cannot be judged on `tests`, under every model in `models` (the model the
/// load runs, or both when the command line chooses it).
pub fn threshold_problem(
    threshold: &Threshold,
    tests: &Tests<'_>,
    models: &[Model],
    tokens_counted: bool,
) -> Option<String> {
    let have_streams = tests.iter().any(|&(spec, test)| reads_a_stream(spec, test));
    let mut problems = models
        .iter()
        .map(|&model| threshold.unproducible(have_streams, model, tokens_counted));
    let first = problems.next()??;
    problems.all(|problem| problem.is_some()).then_some(first)
}

/// The error when none of `tests` captures `name`, the capture that counts tokens (`--tokens
/// NAME` when `from_option`, else `tokens = "NAME"` under [load]).
pub fn tokens_problem(name: &str, tests: &Tests<'_>, from_option: bool) -> Option<Diagnostic> {
    let captured: BTreeSet<&str> = tests
        .iter()
        .filter_map(|&(spec, test)| spec.tests.get(test))
        .flat_map(crate::check::test_captures)
        .map(|capture| capture.value.as_str())
        .collect();
    if captured.contains(name) {
        return None;
    }
    let written = if from_option {
        format!("--tokens {name}")
    } else {
        format!("`tokens = \"{name}\"`")
    };
    let hint = match crate::diagnostic::did_you_mean(name, captured.iter().copied()) {
        Some(close) => format!("; did you mean `{close}`?"),
        None => format!(" (tokens are counted from a capture such as `-> {name}`)"),
    };
    Some(Diagnostic::error(format!(
        "{written}: none of the load's tests captures `{name}`{hint}"
    )))
}

/// For `check`: what each config's `[load]` asks that none of the tests under it gives, as
/// errors pointing at the config's line. The model is the config's when it sets one; else a
/// problem counts only if it holds under both (the command line chooses).
pub fn config_problems(project: &Project) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    for group in &project.groups {
        let Some(config) = &group.config else {
            continue;
        };
        let load = &config.load;
        if load.thresholds.is_empty() && load.tokens.is_none() {
            continue;
        }
        let tests: Vec<(&Spec, usize)> = group
            .specs
            .iter()
            .flat_map(|spec| (0..spec.tests.len()).map(move |test| (spec, test)))
            .collect();
        if tests.is_empty() {
            continue;
        }
        let models = match load.settings.clone().profile() {
            Ok(profile) => vec![profile.model],
            Err(_) => vec![Model::Closed, Model::Open],
        };
        let file = &config.file;
        if let Some(tokens) = &load.tokens
            && let Some(problem) = tokens_problem(&tokens.text, &tests, false)
        {
            problems.push(problem.at(file, tokens.span, "no test captures this"));
        }
        for written in &load.thresholds {
            if let Ok(threshold) = Threshold::parse(&written.text)
                && let Some(message) =
                    threshold_problem(&threshold, &tests, &models, load.tokens.is_some())
            {
                problems.push(unproducible_at(message, file, written.span));
            }
        }
    }
    problems
}

/// For `check`: each test's own thresholds (`threshold …` in it) that it does not produce, under
/// either model (the command line chooses it), as errors pointing at the spec's line.
pub fn spec_problems(project: &Project) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    for group in &project.groups {
        for spec in &group.specs {
            for (index, test) in spec.tests.iter().enumerate() {
                for step in &test.steps {
                    let StepKind::Threshold(text) = &step.kind else {
                        continue;
                    };
                    let Ok(threshold) = Threshold::parse(&text.value) else {
                        continue;
                    };
                    if let Some(message) = threshold_problem(
                        &threshold,
                        &[(spec, index)],
                        &[Model::Closed, Model::Open],
                        // Tokens may be named on the command line (`--tokens NAME`): `load`
                        // refuses a token threshold without them.
                        true,
                    ) {
                        problems.push(Diagnostic::error(of_the_test(message)).at(
                            &spec.file,
                            text.span,
                            "this test does not produce this",
                        ));
                    }
                }
            }
        }
    }
    problems
}

/// A problem of a test's own threshold, said of that test rather than of the load's.
pub fn of_the_test(message: String) -> String {
    message.replace(
        "none of the load's tests reads a stream",
        "this test reads no stream",
    )
}

/// The error for a config's threshold the tests do not produce.
pub fn unproducible_at(message: String, file: &Arc<SourceFile>, span: Span) -> Diagnostic {
    Diagnostic::error(message).at(file, span, "the tests do not produce this")
}

/// Whether test `test` of `spec` reads a stream: a block of items, or gRPC replies one by one.
fn reads_a_stream(spec: &Spec, test: usize) -> bool {
    let mut found = false;
    if let Some(definition) = spec.tests.get(test) {
        for_each_step(&definition.steps, &mut |steps, index| {
            if matches!(
                steps[index].kind,
                StepKind::Expect(Expectation::Stream(_) | Expectation::Message(_))
            ) {
                found = true;
            }
        });
    }
    found
}
