//! Where a span of the text a run read is in the file now, when the file changed since (another
//! update, an edit): the two texts are lined up line by line, and a span on lines that are the
//! same in both moves with them. A span on a line that changed is not found: writing there
//! would undo the change.

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
}
