//! Where a span of the text a run read is in the file now, when the file changed since (another
//! update, an edit): the two texts are lined up line by line, and a span on lines that are the
//! same in both moves with them. A span on a line that changed is not found: writing there
//! would undo the change. When that change is one to be written over (a pending update an
//! earlier run wrote), [`changed_region`] says which lines of the file now stand for the span's.

use similar::{Algorithm, DiffOp, capture_diff_slices};

use crate::line_break;
use crate::source::Span;

/// The span of `now` that holds what `span` held in `then`, if those lines did not change.
pub fn rebase(then: &str, now: &str, span: Span) -> Option<Span> {
    if then == now {
        return Some(span);
    }
    let old = line_break::lines_with_breaks(then);
    let new = line_break::lines_with_breaks(now);
    let old_starts = starts(&old);
    let new_starts = starts(&new);
    capture_diff_slices(Algorithm::Myers, &old, &new)
        .into_iter()
        .find_map(|op| match op {
            DiffOp::Equal {
                old_index,
                new_index,
                len,
            } => {
                let from = old_starts[old_index];
                let to = old_starts[old_index + len];
                let inside = from <= span.start && span.end <= to && span.start < to;
                inside.then(|| {
                    let at = new_starts[new_index];
                    Span::new(at + (span.start - from), at + (span.end - from))
                })
            }
            _ => None,
        })
        .filter(|moved| now.get(moved.start..moved.end) == then.get(span.start..span.end))
}

/// The lines around `span` of `then`, widened to take in every change since that touches them,
/// and the lines of `now` that stand for them: `(in_then, in_now)`, both whole lines. Lines
/// inserted just before or after the span's lines are not theirs and stay out. `None` when the
/// texts cannot be lined up (a span beyond the text).
pub fn changed_region(then: &str, now: &str, span: Span) -> Option<(Span, Span)> {
    let old = line_break::lines_with_breaks(then);
    let new = line_break::lines_with_breaks(now);
    let old_starts = starts(&old);
    let new_starts = starts(&new);
    if span.end > then.len() || span.start > span.end {
        return None;
    }
    // The span's lines, `first..last` (an empty span or one at the very end has the line it is on).
    let line_of = |offset: usize| old_starts[..old.len()].partition_point(|&s| s <= offset);
    let mut first = line_of(span.start).saturating_sub(1);
    let mut last = line_of(span.end.saturating_sub(1).max(span.start)).max(first + 1);
    last = last.min(old.len()).max(first);
    // Where each line boundary of `then` is in `now`, as the start of a region (after lines
    // inserted there) and as its end (before them).
    let mut start_in_now = vec![None; old.len() + 1];
    let mut end_in_now = vec![None; old.len() + 1];
    let ops = capture_diff_slices(Algorithm::Myers, &old, &new);
    for op in &ops {
        let (old_at, old_len, new_at, new_len) = extent(op);
        if let DiffOp::Equal { .. } = op {
            for i in 0..old_len {
                start_in_now[old_at + i] = Some(new_at + i);
                end_in_now[old_at + i + 1] = Some(new_at + i + 1);
            }
        } else if old_len > 0 {
            start_in_now[old_at] = Some(new_at);
            end_in_now[old_at + old_len] = Some(new_at + new_len);
        }
    }
    // Every change that touches the span's lines is taken in whole (one op ends where the
    // next starts, so a single pass in order suffices).
    for op in &ops {
        let (old_at, old_len, _, _) = extent(op);
        let touches = if old_len == 0 {
            first < old_at && old_at < last
        } else {
            old_at < last.max(first + 1) && first < old_at + old_len
        };
        if !matches!(op, DiffOp::Equal { .. }) && touches {
            first = first.min(old_at);
            last = last.max(old_at + old_len);
        }
    }
    let from = start_in_now.get(first).copied().flatten()?;
    let to = end_in_now.get(last).copied().flatten()?;
    (from <= to).then(|| {
        (
            Span::new(old_starts[first], old_starts[last]),
            Span::new(new_starts[from], new_starts[to]),
        )
    })
}

/// `(old_index, old_len, new_index, new_len)` of a diff op.
fn extent(op: &DiffOp) -> (usize, usize, usize, usize) {
    match *op {
        DiffOp::Equal {
            old_index,
            new_index,
            len,
        } => (old_index, len, new_index, len),
        DiffOp::Delete {
            old_index,
            old_len,
            new_index,
        } => (old_index, old_len, new_index, 0),
        DiffOp::Insert {
            old_index,
            new_index,
            new_len,
        } => (old_index, 0, new_index, new_len),
        DiffOp::Replace {
            old_index,
            old_len,
            new_index,
            new_len,
        } => (old_index, old_len, new_index, new_len),
    }
}

/// The byte offset where each line starts, and the length of the whole text last.
fn starts(lines: &[&str]) -> Vec<usize> {
    let mut starts = Vec::with_capacity(lines.len() + 1);
    let mut offset = 0;
    starts.push(0);
    for line in lines {
        offset += line.len();
        starts.push(offset);
    }
    starts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_span_moves_with_its_lines_and_is_lost_with_them() {
        let then = "a\nbb\ncc\n";
        // `cc` is at 5..7; a line added above moves it.
        let now = "x\nyy\na\nbb\ncc\n";
        assert_eq!(rebase(then, now, Span::new(5, 7)), Some(Span::new(10, 12)));
        // A line above it grew.
        let now = "a\nbbbb\ncc\n";
        assert_eq!(rebase(then, now, Span::new(5, 7)), Some(Span::new(7, 9)));
        // Its line changed: not found.
        let now = "a\nbb\ncd\n";
        assert_eq!(rebase(then, now, Span::new(5, 7)), None);
        // A span over two lines, one of which changed: not found.
        let now = "a\nbx\ncc\n";
        assert_eq!(rebase(then, now, Span::new(2, 7)), None);
        // Unchanged text: the same span.
        assert_eq!(rebase(then, then, Span::new(2, 7)), Some(Span::new(2, 7)));
    }

    #[test]
    fn a_changed_region_takes_in_the_changes_on_the_spans_lines_and_no_others() {
        let then = "a\nxx\nc\n";
        let x = Span::new(3, 4);
        // Unchanged: the span's line.
        assert_eq!(
            changed_region(then, then, x),
            Some((Span::new(2, 5), Span::new(2, 5)))
        );
        // Its line became two: both stand for it.
        let now = "a\ny1\ny2\nc\n";
        assert_eq!(
            changed_region(then, now, x),
            Some((Span::new(2, 5), Span::new(2, 8)))
        );
        // Lines added just before or just after it are not its.
        let now = "a\nnew\nxx\nnew\nc\n";
        assert_eq!(
            changed_region(then, now, x),
            Some((Span::new(2, 5), Span::new(6, 9)))
        );
        // A span over two lines, the second of which changed along with the next: all three.
        let now = "a\nxx\nC\nD\n";
        assert_eq!(
            changed_region(then, now, Span::new(3, 6)),
            Some((Span::new(2, 7), Span::new(2, 9)))
        );
        // An empty span is on its line; CR ends lines too.
        assert_eq!(
            changed_region("a\rxx\rc\r", "a\ryy\rc\r", Span::new(2, 2)),
            Some((Span::new(2, 5), Span::new(2, 5)))
        );
        // A span beyond the text is not lined up.
        assert_eq!(changed_region(then, then, Span::new(7, 9)), None);
    }
}
