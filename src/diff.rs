//! The expected-versus-observed diff shown with a failure: the items matched just before it as
//! context, then what was still expected against what the stream really sent, lined up with a
//! Patience diff (similar) where an observed item fits an expected pattern.

use std::time::Duration;

use similar::{Algorithm, DiffTag, capture_diff_slices};

use crate::ast::ItemPattern;
use crate::interp::matcher::{Absorbs, Expected};
use crate::pattern::{ItemView, match_item};
use crate::transport::item::Item;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    Context,
    Removed,
    Added,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffLine {
    pub tag: Tag,
    pub text: String,
    /// When the observed item arrived, measured from the request.
    pub at: Option<Duration>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diff {
    /// Matched items before the context that are not shown.
    pub omitted_before: u64,
    pub lines: Vec<DiffLine>,
    /// Whether reading stopped before the stream ended (more items may have followed).
    pub cut_short: bool,
}

/// An observed line on the right-hand side: an item, or how the stream ended.
pub enum ObservedLine<'a> {
    Item {
        item: &'a Item,
        text: String,
        at: Duration,
    },
    Terminal {
        text: String,
    },
}

/// Builds the diff. `context` holds the last items matched before the failure, already rendered.
/// When `failed_first`, the first observed item is the one that failed (or came too late): it
/// stands against the first expected line, and what follows is lined up after that line.
pub fn build(
    omitted_before: u64,
    context: Vec<(String, Option<Duration>)>,
    expected: &[Expected<'_>],
    observed: &[ObservedLine<'_>],
    failed_first: bool,
    cut_short: bool,
) -> Diff {
    // Tokens: equal tokens are lines the diff treats as the same. An observed item takes the token
    // of the first expected line (from the last one used) that stands for it; a line that stands
    // for many items (an optional repetition, `...`) can be used again.
    let mut observed_tokens = Vec::with_capacity(observed.len());
    let stands_for_first = failed_first
        && expected
            .first()
            .is_some_and(|line| !matches!(line.absorbs, Absorbs::Ending));
    let mut next_expected = usize::from(stands_for_first);
    for (index, line) in observed.iter().enumerate() {
        let unique = expected.len() + index;
        let token = match line {
            ObservedLine::Item { .. } if index == 0 && failed_first => None,
            ObservedLine::Item { item, .. } => {
                let view = ItemView::new(item);
                let fits =
                    |pattern: &ItemPattern| match_item(pattern, &view, &mut Vec::new()).is_ok();
                (next_expected..expected.len()).find(|&k| match expected[k].absorbs {
                    Absorbs::One(pattern) | Absorbs::Many(pattern) => fits(pattern),
                    Absorbs::Anything => true,
                    Absorbs::Ending => false,
                })
            }
            ObservedLine::Terminal { text } => (next_expected..expected.len()).find(|&k| {
                matches!(expected[k].absorbs, Absorbs::Ending)
                    && text.starts_with(&expected[k].text)
            }),
        };
        match token {
            Some(k) => {
                next_expected = match expected[k].absorbs {
                    Absorbs::Many(_) | Absorbs::Anything => k,
                    _ => k + 1,
                };
                observed_tokens.push(k);
            }
            None => observed_tokens.push(unique),
        }
    }
    // A line that stands for many items appears once per item it stood for, or, when it stood
    // for none, not at all: an optional repetition that did not happen is not missing.
    let mut expected_tokens = Vec::with_capacity(expected.len());
    for (k, line) in expected.iter().enumerate() {
        let copies = match line.absorbs {
            Absorbs::Many(_) | Absorbs::Anything => {
                observed_tokens.iter().filter(|&&t| t == k).count()
            }
            _ => 1,
        };
        expected_tokens.extend(std::iter::repeat_n(k, copies));
    }

    let mut lines: Vec<DiffLine> = context
        .into_iter()
        .map(|(text, at)| DiffLine {
            tag: Tag::Context,
            text,
            at,
        })
        .collect();
    let observed_line = |index: usize, tag: Tag| match &observed[index] {
        ObservedLine::Item { text, at, .. } => DiffLine {
            tag,
            text: text.clone(),
            at: Some(*at),
        },
        ObservedLine::Terminal { text } => DiffLine {
            tag,
            text: text.clone(),
            at: None,
        },
    };
    for op in capture_diff_slices(Algorithm::Patience, &expected_tokens, &observed_tokens) {
        let (tag, old, new) = op.as_tag_tuple();
        match tag {
            DiffTag::Equal => {
                for index in new {
                    lines.push(observed_line(index, Tag::Context));
                }
            }
            _ => {
                for index in old {
                    lines.push(DiffLine {
                        tag: Tag::Removed,
                        text: expected[expected_tokens[index]].text.clone(),
                        at: None,
                    });
                }
                for index in new {
                    lines.push(observed_line(index, Tag::Added));
                }
            }
        }
    }
    Diff {
        omitted_before,
        lines,
        cut_short,
    }
}
