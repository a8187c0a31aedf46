//! The order of a diff's lines where nothing else fixes it. The expected lines of `where`
//! groups follow only their own group's order, and `any order` lines none: they are put in the
//! order of the items they stand for, as those came (rather than group by group, which lines
//! them up against unrelated items). And where expected lines and items differ, each expected
//! line is shown beside the item most like it.

use similar::TextDiff;

use crate::interp::matcher::{Absorbs, Expected, Order, belongs_to};
use crate::pattern::{ItemView, match_item};
use crate::source::Span;
use crate::transport::item::Item;

/// How much of two lines is compared to find which are alike: their starts, where an item's
/// kind and first fields are.
const COMPARED: usize = 300;

/// Lines less alike than this are not put side by side.
const ALIKE: f32 = 0.5;

/// The expected lines with each stretch of lines whose order the block leaves open (the lines of
/// consecutive `where` groups, of an `any order`) in the order of the items, as they came:
/// each item takes the next line of its group, or the first open line it fits. Lines no item
/// took follow, in the block's order. When `failed_first`, the first item is the one that
/// failed on the first line; if it takes no line of a stretch the lines start with, it stands
/// against the first line no other item took.
pub fn follow_arrivals<'p>(
    expected: &[Expected<'p>],
    items: &[&Item],
    failed_first: bool,
) -> Vec<Expected<'p>> {
    let mut out = Vec::with_capacity(expected.len());
    let mut index = 0;
    while index < expected.len() {
        let Some(section) = section_of(&expected[index].order) else {
            out.push(expected[index].clone());
            index += 1;
            continue;
        };
        let end = index
            + expected[index..]
                .iter()
                .take_while(|line| section_of(&line.order) == Some(section))
                .count();
        let lines = &expected[index..end];
        let mut taken = vec![false; lines.len()];
        let mut took = Vec::new();
        for item in items {
            let view = ItemView::new(item);
            let line = line_for(lines, &taken, &view);
            if let Some(line) = line {
                taken[line] = true;
            }
            took.push(line);
        }
        if failed_first
            && index == 0
            && took.first() == Some(&None)
            && let Some(line) = taken.iter().position(|taken| !taken)
        {
            taken[line] = true;
            took[0] = Some(line);
        }
        out.extend(took.into_iter().flatten().map(|line| lines[line].clone()));
        out.extend(
            lines
                .iter()
                .zip(&taken)
                .filter(|(_, taken)| !**taken)
                .map(|(line, _)| line.clone()),
        );
        index = end;
    }
    out
}

/// Which stretch of open order a line is in: the `where` entry or the `any order` it is from.
fn section_of(order: &Order<'_>) -> Option<Span> {
    match order {
        Order::Fixed => None,
        Order::Group { split, .. } => Some(*split),
        Order::Any { set } => Some(*set),
    }
}

/// The line of a stretch an item stands for: in `where` groups, the next line of the first
/// group the item belongs to; in `any order`, the first open line it fits.
fn line_for(lines: &[Expected<'_>], taken: &[bool], view: &ItemView<'_>) -> Option<usize> {
    let open = || (0..lines.len()).filter(|&line| !taken[line]);
    let group = lines.iter().find_map(|line| match line.order {
        Order::Group { group, .. } if belongs_to(group, view) => Some(group),
        _ => None,
    });
    match group {
        Some(group) => open().find(|&line| {
            matches!(lines[line].order, Order::Group { group: g, .. } if std::ptr::eq(g, group))
        }),
        None => open().find(|&line| match lines[line].absorbs {
            Absorbs::One(pattern) | Absorbs::Many(pattern) => {
                matches!(lines[line].order, Order::Any { .. })
                    && match_item(pattern, view, &mut Vec::new()).is_ok()
            }
            Absorbs::Anything | Absorbs::Ending => false,
        }),
    }
}

/// One side of a stretch where the expected lines and the items differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Expected(usize),
    Observed(usize),
}

/// The lines of such a stretch in the order to show them: the items as they came, each right
/// after the expected line most like it (when one is alike enough), the expected lines that no
/// item is like before the next item, in their own order. `paired` is a pair known already
/// (the item that failed against the line it failed).
pub fn side_by_side(
    expected: &[&str],
    observed: &[&str],
    paired: Option<(usize, usize)>,
) -> Vec<Side> {
    let mut partner_of_expected: Vec<Option<usize>> = vec![None; expected.len()];
    let mut partner_of_observed: Vec<Option<usize>> = vec![None; observed.len()];
    if let Some((e, o)) = paired
        && e < expected.len()
        && o < observed.len()
    {
        partner_of_expected[e] = Some(o);
        partner_of_observed[o] = Some(e);
    }
    // The most alike pairs first, each line in one pair at most.
    let mut candidates: Vec<(f32, usize, usize)> = Vec::new();
    for (e, expected_text) in expected.iter().enumerate() {
        for (o, observed_text) in observed.iter().enumerate() {
            let likeness = likeness(expected_text, observed_text);
            if likeness >= ALIKE {
                candidates.push((likeness, e, o));
            }
        }
    }
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    for (_, e, o) in candidates {
        if partner_of_expected[e].is_none() && partner_of_observed[o].is_none() {
            partner_of_expected[e] = Some(o);
            partner_of_observed[o] = Some(e);
        }
    }
    let mut out = Vec::with_capacity(expected.len() + observed.len());
    let mut shown = vec![false; expected.len()];
    for (o, partner) in partner_of_observed.iter().enumerate() {
        // Before an item, the expected lines no item is like that come before its partner (or,
        // for an item like none, before the next pair): in their order.
        let until = partner.or_else(|| partner_of_observed[o..].iter().flatten().next().copied());
        for (before, done) in shown
            .iter_mut()
            .enumerate()
            .take(until.unwrap_or(expected.len()))
        {
            if !*done && partner_of_expected[before].is_none() {
                *done = true;
                out.push(Side::Expected(before));
            }
        }
        if let Some(e) = *partner {
            shown[e] = true;
            out.push(Side::Expected(e));
        }
        out.push(Side::Observed(o));
    }
    out.extend(
        (0..expected.len())
            .filter(|&e| !shown[e])
            .map(Side::Expected),
    );
    out
}

/// How alike two lines are, from 0 to 1, by their starts.
fn likeness(a: &str, b: &str) -> f32 {
    let start = |text: &str| -> String { text.chars().take(COMPARED).collect() };
    TextDiff::from_chars(start(a).as_str(), start(b).as_str()).ratio()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_item_comes_right_after_the_expected_line_most_like_it() {
        let expected = [r#"{ "n": 1 }"#, r#"{ "symbol": "GOOG", "n": 2 }"#, "end"];
        let observed = [r#"{ "symbol": "GOOG", "n": 3 }"#, "dropped"];
        assert_eq!(
            side_by_side(&expected, &observed, None),
            [
                Side::Expected(0),
                Side::Expected(1),
                Side::Observed(0),
                Side::Expected(2),
                Side::Observed(1),
            ]
        );
        // A pair known already stays, however unlike.
        assert_eq!(
            side_by_side(&["abc", "xyz"], &["xyw"], Some((0, 0))),
            [Side::Expected(0), Side::Observed(0), Side::Expected(1)]
        );
    }
}
