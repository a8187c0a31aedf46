//! The bound an `expect ttfb` line puts on the wait for a response head: a head that has not
//! come by then cannot pass the check, so the wait ends there and the test fails on that line,
//! as `first within` ends the wait for a first item.

use std::time::Duration;

use crate::ast::{
    Aggregate, AggregateKind, CmpOp, DurationCond, Expectation, Spanned, Step, StepKind,
};
use crate::duration::{format_duration, format_measured};
use crate::interp::aggregate;
use crate::outcome::Failure;

/// An `expect ttfb < D` (or `<= D`, `== D`, `in C..D`) that the response head must meet: waiting
/// longer than `limit` cannot pass it, so the wait for the head ends there.
#[derive(Debug, Clone)]
pub(super) struct HeadBound {
    pub(super) limit: Duration,
    cond: Spanned<DurationCond>,
}

impl HeadBound {
    /// The tightest bound on the head of the request at `steps[index]`: its own `expect ttfb`
    /// lines (up to the next request), and when it is the test's first request, every
    /// `expect test ttfb` (the test's ttfb is its first response's). Reconnections open later
    /// connections, whose heads these do not measure.
    pub(super) fn for_request(steps: &[Step], index: usize) -> Option<HeadBound> {
        let opens = |step: &Step| matches!(step.kind, StepKind::Request(_) | StepKind::Grpc(_));
        let first = !steps[..index].iter().any(opens);
        let own = steps[index + 1..]
            .iter()
            .take_while(|step| !opens(step))
            .filter_map(|step| ttfb_condition(step, false));
        let whole_test = steps
            .iter()
            .filter(|_| first)
            .filter_map(|step| ttfb_condition(step, true));
        own.chain(whole_test)
            .filter_map(|cond| {
                let limit = match cond.value {
                    DurationCond::Compare(CmpOp::Lt | CmpOp::Le | CmpOp::Eq, bound) => bound,
                    DurationCond::Range(_, high) => high,
                    DurationCond::Compare(_, _) => return None,
                };
                Some(HeadBound {
                    limit,
                    cond: cond.clone(),
                })
            })
            .min_by_key(|bound| bound.limit)
    }

    /// The failure when no head came within the bound.
    pub(super) fn broken(&self, waited: Duration) -> Failure {
        Failure::assertion(
            format!(
                "expected ttfb {}, but no response head arrived within {}",
                aggregate::describe_duration_cond(&self.cond.value),
                format_duration(self.limit)
            ),
            self.cond.span,
            format!("waited {} for the response head", format_measured(waited)),
        )
    }
}

/// The condition of an `expect ttfb …` step (`expect test ttfb …` when `whole_test`).
fn ttfb_condition(step: &Step, whole_test: bool) -> Option<&Spanned<DurationCond>> {
    match &step.kind {
        StepKind::Expect(Expectation::Aggregate(Aggregate {
            kind: AggregateKind::Ttfb(cond),
            whole_test: whole,
            ..
        })) if *whole == whole_test => Some(cond),
        _ => None,
    }
}
