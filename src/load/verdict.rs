//! Whether a load passed, and why not, for the exit code, standard error and the JSON report
//! (`passed`, `failed_because`): a CI step that reads only the report could not tell a run that
//! failed for want of a judged iteration from one that passed.

use super::json::LoadReport;
use super::metrics::Metric;
use super::thresholds::{Measure, Threshold};

/// A load's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunVerdict {
    pub passed: bool,
    /// Why it failed, one reason each: what the JSON report says.
    pub failed_because: Vec<String>,
    /// What standard error says: `error: …` for the reasons the summary does not show (the
    /// thresholds table shows its own), `warning: …` for what holds but deserves a word.
    pub messages: Vec<String>,
}

pub fn judge(report: &LoadReport) -> RunVerdict {
    let mut verdict = RunVerdict {
        passed: true,
        failed_because: Vec::new(),
        messages: Vec::new(),
    };
    let total = &report.total.counts;
    // Iterations cut off at the end have no verdict, but their streams were measured: a soak
    // of streams longer than the run measures nothing else.
    let measured = total.iterations > 0 || total.streams > 0;
    if report.thresholds.is_empty() {
        if total.failed > 0 {
            verdict.fail(crate::report::plural(total.failed as usize, "iteration") + " failed");
        }
        if total.dropped > 0 {
            verdict.fail(crate::report::plural(total.dropped as usize, "arrival") + " dropped");
        }
    }
    for threshold in report.thresholds.iter().filter(|verdict| !verdict.passed) {
        verdict.fail(format!("the threshold `{}` failed", threshold.label()));
    }
    if !measured {
        let reason = "no iteration ended: nothing was measured";
        verdict.fail(reason.to_string());
        verdict.messages.push(format!("error: {reason}"));
    }
    all_judged(report, &mut verdict);
    if let Some(stopped) = &report.stopped {
        verdict.fail(format!("stopped early: {stopped}"));
    }
    verdict
}

impl RunVerdict {
    fn fail(&mut self, reason: String) {
        self.passed = false;
        self.failed_because.push(reason);
    }
}

/// Whether every test with iterations had one judged whole, or thresholds on its streams' gaps: a test whose every iteration the end of the run cut off passed nothing and failed
/// nothing, and a stream stalled since its first items reads the same as a healthy one still
/// going.
fn all_judged(report: &LoadReport, verdict: &mut RunVerdict) {
    for test in &report.tests {
        let counts = &test.counts;
        if counts.iterations > 0 || counts.interrupted == 0 {
            continue;
        }
        // Judged on this test's figures: its own thresholds, or the whole load's when it is
        // the load's one test (beside others, their healthy gaps outweighed its stall).
        let alone = report.tests.len() == 1;
        let on_streams = report.thresholds.iter().any(|judged| {
            (judged.test.as_ref() == Some(&test.name) || (alone && judged.test.is_none()))
                && Threshold::parse(&judged.threshold).is_ok_and(|threshold| {
                    // The gaps, which take a stall still going at the cut as the time waited:
                    // not `connect`, `ttfb`, `first item` or a rate, which a stream stalled
                    // after its first items meets.
                    matches!(
                        threshold.measure,
                        Measure::Distribution(Metric::Gap | Metric::TokenGap, _)
                    )
                })
        });
        let cut = crate::report::plural(counts.interrupted as usize, "iteration");
        let ended = format!(
            "{}: no iteration ended (the end of the run cut off {cut})",
            test.name
        );
        if on_streams {
            verdict.messages.push(format!(
                "warning: {ended}: its thresholds judged what its streams had measured by then"
            ));
        } else {
            verdict.messages.push(format!(
                "error: {ended}, so none was judged: a stream stalled since its last item reads the same as one still going; give the test time to end (--duration, --graceful-stop), or judge its gaps with a threshold of its own (`threshold max gap < 1s`, shorter than the run)"
            ));
            verdict.fail(format!("{ended}, so none was judged"));
        }
    }
}
