//! The rule a load's thresholds do not replace unless they say so: every iteration passes.
//! Without thresholds the run passes if every iteration passed; with some, it also did until a
//! threshold on latency alone (`p99 ttfb < 500ms`) let a run of 15 failed iterations, and none
//! passed, exit 0 (k6 works so, but its checks are advisory: ours are the spec). A threshold
//! on failures or passes (`failures < 1%`, `failures < 5`, `passes > 99%`) says how many may
//! fail, and then the rule steps aside: for the whole load when it is the whole load's,
//! for its test when it is a test's own. In the open model the rule has a second part: no
//! arrival was dropped (`--max-users` were all running), or the load offered was not the
//! schedule's; a threshold on `dropped` replaces it.

use super::thresholds::{Count, Measure, Op, Ratio, Threshold};

/// The text of the rule, as a threshold: no iteration failed.
const NONE_FAILED: &str = "failures < 1";

/// The open model's second part: no arrival dropped.
const NONE_DROPPED: &str = "dropped < 1";

/// Whether `threshold` says how many iterations may fail. Not one on `errors`: an error is one
/// kind of failure (no connection, no answer, the wrong status), and `errors < 1%` says nothing
/// of iterations that got their answer and found it wrong.
fn allows_failures(threshold: &Threshold) -> bool {
    matches!(
        threshold.measure,
        Measure::Count(Count::Failures) | Measure::Ratio(Ratio::Failures | Ratio::Passes)
    )
}

/// The thresholds the rule adds to `thresholds` (the load's, the whole load's and the tests'
/// own) for tests labelled `tests`: none when there are no thresholds (the run's verdict is then
/// the rule itself) or when a whole-load one allows failures; else `failures < 1` for the whole
/// load, or, when some tests allow failures of their own, for each test that does not.
pub fn thresholds(thresholds: &[Threshold], tests: &[String], open: bool) -> Vec<Threshold> {
    if thresholds.is_empty() {
        return Vec::new();
    }
    let mut implied = failures(thresholds, tests);
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
    let none_failed = |test: Option<String>| Threshold {
        text: NONE_FAILED.to_string(),
        measure: Measure::Count(Count::Failures),
        op: Op::Less,
        bound: 1.0,
        test,
        implied: true,
    };
    if allowed.is_empty() {
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
        for allowing in ["failures < 1%", "failures < 5", "passes > 99%"] {
            assert_eq!(implied(&[parsed(allowing, None)]), [], "{allowing}");
        }
        // Errors are one kind of failure: wrong answers are others.
        assert_eq!(implied(&[parsed("errors < 1%", None)]), rule);
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
