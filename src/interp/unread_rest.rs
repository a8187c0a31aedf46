//! Whether a measure that failed on a stream read only in part (its block stopped once its last
//! item matched) could still pass had the rest been read: a count, a byte count, a duration or
//! the longest gap only grows as more arrives, the shortest gap only shrinks, so a bound they are
//! already past stays failed, and suggesting `end` there would send the author the wrong way.

use std::time::Duration;

use crate::ast::{AggregateKind, CmpOp, DurationCond, GapStat, NumCond};
use crate::interp::stats::StreamStats;

/// Whether reading the rest of the stream could make `kind`, measured as `stats`, hold. `false`
/// for measures the rest of a stream does not change (the time to the first byte or item,
/// reconnections, ids already seen).
pub fn could_still_pass(stats: &StreamStats, kind: &AggregateKind) -> bool {
    match kind {
        AggregateKind::Count(cond) => num_holds_at_or_above(&cond.value, stats.items as f64),
        AggregateKind::Bytes(cond) => num_holds_at_or_above(&cond.value, stats.bytes as f64),
        AggregateKind::Duration(cond) => duration_holds_at_or_above(
            &cond.value,
            stats.duration.or(stats.ttfb).unwrap_or_default(),
        ),
        AggregateKind::Gaps(bounds) => bounds.iter().all(|(stat, cond)| {
            let Some(value) = stats.gap(stat.value) else {
                // Fewer than two items: the rest may bring the gaps to measure.
                return true;
            };
            cond.value.holds(value)
                || match stat.value {
                    GapStat::Max => duration_holds_at_or_above(&cond.value, value),
                    GapStat::Min => duration_holds_at_or_below(&cond.value, value),
                    // A mean or a percentile moves either way as gaps are added.
                    GapStat::Mean | GapStat::P50 | GapStat::P95 | GapStat::P99 => true,
                }
        }),
        AggregateKind::Ttfb(_)
        | AggregateKind::FirstItem(_)
        | AggregateKind::Connections(_)
        | AggregateKind::Retry(_)
        | AggregateKind::ReconnectDelay(_)
        | AggregateKind::Ids(_)
        | AggregateKind::Distinct(_)
        | AggregateKind::Capture { .. } => false,
    }
}

/// Whether some value at or above `value` satisfies `cond`.
fn num_holds_at_or_above(cond: &NumCond, value: f64) -> bool {
    match *cond {
        NumCond::Compare(op, bound) => holds_at_or_above(op, value, bound),
        NumCond::Range(_, hi) => hi.is_none_or(|hi| value <= hi),
    }
}

fn duration_holds_at_or_above(cond: &DurationCond, value: Duration) -> bool {
    match *cond {
        DurationCond::Compare(op, bound) => holds_at_or_above(op, value, bound),
        DurationCond::Range(_, hi) => value <= hi,
    }
}

fn duration_holds_at_or_below(cond: &DurationCond, value: Duration) -> bool {
    match *cond {
        DurationCond::Compare(op, bound) => match op {
            CmpOp::Eq => bound <= value,
            CmpOp::Ne | CmpOp::Lt | CmpOp::Le => true,
            CmpOp::Gt => value > bound,
            CmpOp::Ge => value >= bound,
        },
        DurationCond::Range(lo, _) => value >= lo,
    }
}

/// Whether `x op bound` holds for some `x` at or above `value`.
fn holds_at_or_above<T: PartialOrd>(op: CmpOp, value: T, bound: T) -> bool {
    match op {
        CmpOp::Eq | CmpOp::Le => value <= bound,
        CmpOp::Lt => value < bound,
        CmpOp::Ne | CmpOp::Gt | CmpOp::Ge => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn a_growing_measure_past_an_upper_bound_cannot_pass() {
        assert!(!num_holds_at_or_above(
            &NumCond::Compare(CmpOp::Lt, 2.0),
            3.0
        ));
        assert!(!num_holds_at_or_above(
            &NumCond::Compare(CmpOp::Le, 2.0),
            3.0
        ));
        assert!(!num_holds_at_or_above(
            &NumCond::Compare(CmpOp::Eq, 2.0),
            3.0
        ));
        assert!(!num_holds_at_or_above(
            &NumCond::Range(Some(1.0), Some(2.0)),
            3.0
        ));
        assert!(!duration_holds_at_or_above(
            &DurationCond::Compare(CmpOp::Lt, MS(5)),
            MS(5)
        ));
        assert!(!duration_holds_at_or_above(
            &DurationCond::Range(MS(1), MS(2)),
            MS(3)
        ));
    }

    #[test]
    fn a_growing_measure_below_its_bound_may_still_reach_it() {
        assert!(num_holds_at_or_above(
            &NumCond::Compare(CmpOp::Eq, 5.0),
            3.0
        ));
        assert!(num_holds_at_or_above(
            &NumCond::Compare(CmpOp::Ge, 5.0),
            3.0
        ));
        assert!(num_holds_at_or_above(
            &NumCond::Compare(CmpOp::Ne, 3.0),
            3.0
        ));
        assert!(num_holds_at_or_above(&NumCond::Range(Some(4.0), None), 3.0));
        assert!(duration_holds_at_or_above(
            &DurationCond::Compare(CmpOp::Gt, MS(5)),
            MS(1)
        ));
    }

    #[test]
    fn the_shortest_gap_only_shrinks() {
        assert!(!duration_holds_at_or_below(
            &DurationCond::Compare(CmpOp::Gt, MS(5)),
            MS(5)
        ));
        assert!(!duration_holds_at_or_below(
            &DurationCond::Range(MS(4), MS(9)),
            MS(3)
        ));
        assert!(duration_holds_at_or_below(
            &DurationCond::Compare(CmpOp::Lt, MS(5)),
            MS(9)
        ));
        assert!(duration_holds_at_or_below(
            &DurationCond::Compare(CmpOp::Eq, MS(5)),
            MS(9)
        ));
    }
}
