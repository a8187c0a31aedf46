//! The rule a load's thresholds do not replace unless they say so: every iteration passes.
//! Without thresholds the run passes if every iteration passed; with some, it also did until a
//! threshold on latency alone (`p99 ttfb < 500ms`) let a run of 15 failed iterations, and none
//! passed, exit 0 (k6 works so, but its checks are advisory: ours are the spec). A threshold
//! on failures or passes (`failures < 1%`, `failures < 5`, `passes > 99%`) says how many may
//! fail, and then the rule steps aside: for the whole load when it is the whole load's,
//! for its test when it is a test's own. In the open model the rule has a second part: no
//! arrival was dropped (`--max-users` were all running), or the load offered was not the
//! schedule's; a threshold on `dropped` replaces it.

use super::thresholds::{Count, Measure, Op, Ratio, Threshold, Verdict};

/// The text of the rule, as a threshold: no iteration failed.
const NONE_FAILED: &str = "failures < 1";

/// The rule when errors are allowed: no iteration found its answer wrong.
const NONE_UNMET: &str = "unmet < 1";

/// The open model's second part: no arrival dropped.
const NONE_DROPPED: &str = "dropped < 1";

/// Each implied rule with what it says and how to lift it, for the summary under its table.
const NOTES: [(&str, &str); 3] = [
    (
        NONE_FAILED,
        "no threshold says how many iterations may fail; `failures < 1%` would allow some",
    ),
    (
        NONE_UNMET,
        "a threshold allows errors, not answers that came and were wrong; `failures < 1%` would allow some of both",
    ),
    (
        NONE_DROPPED,
        "no threshold says how many arrivals may be dropped; `dropped < 10` would allow some",
    ),
];

/// The notes of the implied rules among `verdicts`, each once.
pub fn notes(verdicts: &[Verdict]) -> impl Iterator<Item = &'static str> + '_ {
    NOTES.iter().filter_map(|(rule, note)| {
        verdicts
            .iter()
            .any(|verdict| verdict.implied && verdict.threshold == *rule)
            .then_some(*note)
    })
}

/// Whether `threshold` says how many iterations may fail, whatever the cause — or, on
/// `unmet`, takes the rule over in its own terms (beside it an implied `unmet < 1` or
/// `failures < 1` would contradict it).
fn allows_failures(threshold: &Threshold) -> bool {
    matches!(
        threshold.measure,
        Measure::Count(Count::Failures | Count::Unmet)
            | Measure::Ratio(Ratio::Failures | Ratio::Passes)
    )
}

/// Whether `threshold` says how many may fail for an error (no connection, no answer, the
/// wrong status): then the rule keeps only its other part, that no answer was wrong (`unmet <
/// 1`), as `errors < 5` says nothing of answers that came and were wrong.
fn allows_errors(threshold: &Threshold) -> bool {
    matches!(
        threshold.measure,
        Measure::Count(Count::Errors) | Measure::Ratio(Ratio::Errors)
    )
}

/// The thresholds the rule adds to `thresholds` (the load's, the whole load's and the tests'
/// own) for tests labelled `tests`: none when there are no thresholds (the run's verdict is then
/// the rule itself) or when a whole-load one allows failures; else `failures < 1` (`unmet < 1`
/// where errors are allowed) for the whole load, or, when some tests allow failures or errors of
/// their own, for each test that does not allow failures.
pub fn thresholds(thresholds: &[Threshold], tests: &[String], open: bool) -> Vec<Threshold> {
    if thresholds.is_empty() {
        return Vec::new();
    }
    with_dropped(failures(thresholds, tests), thresholds, open)
}

/// The rule itself as thresholds, for a load without any that `--abort-on-fail` is to stop at
/// the first failure (it ran to its end: there was no threshold to lose).
pub fn rule(open: bool) -> Vec<Threshold> {
    with_dropped(failures(&[], &[]), &[], open)
}

/// `implied`, and in the open model `dropped < 1` unless one of `thresholds` is on `dropped`.
fn with_dropped(
    mut implied: Vec<Threshold>,
    thresholds: &[Threshold],
    open: bool,
) -> Vec<Threshold> {
    if open
        && !thresholds
            .iter()
            .any(|threshold| threshold.measure == Measure::Count(Count::Dropped))
    {
        implied.push(Threshold {
            text: NONE_DROPPED.to_string(),
            measure: Measure::Count(Count::Dropped),
            op: Op::Less,
            bound: 1.0,
            test: None,
            implied: true,
        });
    }
    implied
}

/// The failures part of [`thresholds`].
fn failures(thresholds: &[Threshold], tests: &[String]) -> Vec<Threshold> {
    if thresholds
        .iter()
        .any(|threshold| threshold.test.is_none() && allows_failures(threshold))
    {
        return Vec::new();
    }
    let allowed: Vec<&String> = thresholds
        .iter()
        .filter(|threshold| allows_failures(threshold))
        .filter_map(|threshold| threshold.test.as_ref())
        .collect();
    // Errors allowed, for the whole load or for `test`: only wrong answers are ruled out.
    let errors_allowed = |test: Option<&String>| {
        thresholds.iter().any(|threshold| {
            allows_errors(threshold)
                && (threshold.test.is_none() || threshold.test.as_ref() == test)
        })
    };
    let none_failed = |test: Option<String>| {
        let (text, count) = if errors_allowed(test.as_ref()) {
            (NONE_UNMET, Count::Unmet)
        } else {
            (NONE_FAILED, Count::Failures)
        };
        Threshold {
            text: text.to_string(),
            measure: Measure::Count(count),
            op: Op::Less,
            bound: 1.0,
            test,
            implied: true,
        }
    };
    let scoped = thresholds.iter().any(|threshold| {
        threshold.test.is_some() && (allows_failures(threshold) || allows_errors(threshold))
    });
    if !scoped {
        return vec![none_failed(None)];
    }
    tests
        .iter()
        .filter(|test| !allowed.contains(test))
        .map(|test| none_failed(Some(test.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str, test: Option<&str>) -> Threshold {
        Threshold {
            test: test.map(str::to_string),
            ..Threshold::parse(text).expect("a threshold")
        }
    }

    fn implied(given: &[Threshold]) -> Vec<(String, Option<String>)> {
        let tests = ["a: one".to_string(), "b: two".to_string()];
        thresholds(given, &tests, false)
            .into_iter()
            .map(|threshold| (threshold.text, threshold.test))
            .collect()
    }

    #[test]
    fn latency_thresholds_leave_the_rule_that_every_iteration_passes() {
        let rule = vec![("failures < 1".to_string(), None)];
        assert_eq!(implied(&[]), []);
        assert_eq!(implied(&[parsed("p99 ttfb < 500ms", None)]), rule);
        assert_eq!(implied(&[parsed("goodput > 5/s", None)]), rule);
        assert_eq!(
            implied(&[parsed("connections succeeded > 99%", None)]),
            rule
        );
        for allowing in ["failures < 1%", "failures < 5", "passes > 99%", "unmet < 3"] {
            assert_eq!(implied(&[parsed(allowing, None)]), [], "{allowing}");
        }
        // Errors are one kind of failure: wrong answers are others, which still may not be.
        for errors in ["errors < 1%", "errors < 5"] {
            assert_eq!(
                implied(&[parsed(errors, None)]),
                [("unmet < 1".to_string(), None)],
                "{errors}"
            );
        }
    }

    #[test]
    fn the_open_model_s_rule_has_no_arrival_dropped_unless_a_threshold_says_how_many() {
        let texts = |given: &[Threshold]| -> Vec<String> {
            thresholds(given, &[], true)
                .into_iter()
                .map(|threshold| threshold.text)
                .collect()
        };
        assert_eq!(
            texts(&[parsed("p99 ttfb < 500ms", None)]),
            ["failures < 1", "dropped < 1"]
        );
        assert_eq!(texts(&[parsed("failures < 1%", None)]), ["dropped < 1"]);
        assert_eq!(texts(&[parsed("dropped < 10", None)]), ["failures < 1"]);
    }

    #[test]
    fn a_test_that_allows_errors_of_its_own_keeps_only_the_rule_on_wrong_answers() {
        assert_eq!(
            implied(&[parsed("errors < 5%", Some("a: one"))]),
            [
                ("unmet < 1".to_string(), Some("a: one".to_string())),
                ("failures < 1".to_string(), Some("b: two".to_string()))
            ]
        );
    }

    #[test]
    fn a_test_that_allows_failures_of_its_own_leaves_the_rule_to_the_others() {
        assert_eq!(
            implied(&[parsed("failures < 5%", Some("a: one"))]),
            [("failures < 1".to_string(), Some("b: two".to_string()))]
        );
        assert_eq!(
            implied(&[
                parsed("failures < 5%", Some("a: one")),
                parsed("passes > 90%", Some("b: two"))
            ]),
            []
        );
    }
}
