//! The expected-versus-observed diff shown with a failure: the items matched just before it as
//! context, then what was still expected against what the stream really sent, lined up with a
//! Patience diff (similar) where an observed item fits an expected pattern. Items are shown as
//! the block's patterns see them ([`focus`]), lines whose order the block leaves open in the
//! order the items came, and each expected line beside the item most like it ([`order`]); items
//! an `ignore` dropped are shown as such, outside the alignment.

pub mod focus;
mod order;

use std::time::Duration;

use similar::{Algorithm, DiffTag, capture_diff_slices};

use crate::ast::ItemPattern;
use crate::interp::matcher::{Absorbs, Expected};
use crate::pattern::{ItemView, match_item};
use crate::transport::item::Item;
use focus::Focus;
use order::Side;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    Context,
    Removed,
    Added,
    /// An item an `ignore` of the block dropped.
    Ignored,
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

/// A line of context before the failure: an item that matched, or a line about the connection
/// (`dropped`, `reconnect`).
pub enum ContextLine<'a> {
    Item { item: &'a Item, at: Duration },
    Event(String),
}

/// An observed line on the right-hand side: an item, one an `ignore` dropped, or how the
/// stream ended.
pub enum ObservedLine<'a> {
    Item { item: &'a Item, at: Duration },
    Ignored { item: &'a Item, at: Duration },
    Terminal { text: String },
}

/// The context lines as the diff shows them.
pub fn context_lines(focus: &Focus, context: Vec<ContextLine<'_>>) -> Vec<DiffLine> {
    context
        .into_iter()
        .map(|line| match line {
            ContextLine::Item { item, at } => DiffLine {
                tag: Tag::Context,
                text: focus.render(item),
                at: Some(at),
            },
            ContextLine::Event(text) => DiffLine {
                tag: Tag::Context,
                text,
                at: None,
            },
        })
        .collect()
}

/// Builds the diff. `context` holds the last items matched before the failure; `focus` is what
/// the block's patterns look at. When `failed_first`, the first observed item is the one that
/// failed (or came too late): it stands against the first expected line, and what follows is
/// lined up after that line.
pub fn build(
    focus: &Focus,
    omitted_before: u64,
    context: Vec<ContextLine<'_>>,
    expected: &[Expected<'_>],
    observed: &[ObservedLine<'_>],
    failed_first: bool,
    cut_short: bool,
) -> Diff {
    // The items that take part in the alignment (not those `ignore` dropped), in order.
    let aligned: Vec<usize> = (0..observed.len())
        .filter(|&index| !matches!(observed[index], ObservedLine::Ignored { .. }))
        .collect();
    let items: Vec<&Item> = aligned
        .iter()
        .filter_map(|&index| match &observed[index] {
            ObservedLine::Item { item, .. } => Some(*item),
            _ => None,
        })
        .collect();
    let expected = order::follow_arrivals(expected, &items, failed_first);
    let expected = expected.as_slice();
    // Tokens: equal tokens are lines the diff treats as the same. An observed item takes the token
    // of the first expected line (from the last one used) that stands for it; a line that stands
    // for many items (an optional repetition, `...`) can be used again.
    let mut observed_tokens = Vec::with_capacity(aligned.len());
    let stands_for_first = failed_first
        && expected
            .first()
            .is_some_and(|line| !matches!(line.absorbs, Absorbs::Ending));
    let mut next_expected = usize::from(stands_for_first);
    for (position, &index) in aligned.iter().enumerate() {
        let unique = expected.len() + position;
        let token = match &observed[index] {
            ObservedLine::Item { .. } if position == 0 && failed_first => None,
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
            ObservedLine::Ignored { .. } => None,
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

    let mut out = Lines {
        lines: context_lines(focus, context),
        observed,
        texts: observed
            .iter()
            .map(|line| observed_text(focus, line))
            .collect(),
        next_observed: 0,
    };
    let mut hunk: (Vec<usize>, Vec<usize>) = (Vec::new(), Vec::new());
    for op in capture_diff_slices(Algorithm::Patience, &expected_tokens, &observed_tokens) {
        let (tag, old, new) = op.as_tag_tuple();
        if tag == DiffTag::Equal {
            out.hunk(
                &mut hunk,
                expected,
                &expected_tokens,
                &aligned,
                failed_first,
            );
            for position in new {
                out.observed(aligned[position], Tag::Context);
            }
        } else {
            hunk.0.extend(old);
            hunk.1.extend(new);
        }
    }
    out.hunk(
        &mut hunk,
        expected,
        &expected_tokens,
        &aligned,
        failed_first,
    );
    out.observed_up_to(observed.len());
    Diff {
        omitted_before,
        lines: out.lines,
        cut_short,
    }
}

/// An observed line's text: an item as the block's patterns see it.
fn observed_text(focus: &Focus, line: &ObservedLine<'_>) -> String {
    match line {
        ObservedLine::Item { item, .. } | ObservedLine::Ignored { item, .. } => focus.render(item),
        ObservedLine::Terminal { text } => text.clone(),
    }
}

/// The diff's lines as they are written, with the observed lines in their order.
struct Lines<'o, 'a> {
    lines: Vec<DiffLine>,
    observed: &'o [ObservedLine<'a>],
    texts: Vec<String>,
    /// The first observed line not written yet.
    next_observed: usize,
}

impl Lines<'_, '_> {
    /// Writes the observed line at `index` with `tag`, after the ignored items before it.
    fn observed(&mut self, index: usize, tag: Tag) {
        self.observed_up_to(index);
        let at = match &self.observed[index] {
            ObservedLine::Item { at, .. } | ObservedLine::Ignored { at, .. } => Some(*at),
            ObservedLine::Terminal { .. } => None,
        };
        self.lines.push(DiffLine {
            tag,
            text: std::mem::take(&mut self.texts[index]),
            at,
        });
        self.next_observed = self.next_observed.max(index + 1);
    }

    /// Writes the ignored items before `index` that are not written yet.
    fn observed_up_to(&mut self, index: usize) {
        while self.next_observed < index {
            let next = self.next_observed;
            if let ObservedLine::Ignored { at, .. } = &self.observed[next] {
                self.lines.push(DiffLine {
                    tag: Tag::Ignored,
                    text: std::mem::take(&mut self.texts[next]),
                    at: Some(*at),
                });
            }
            self.next_observed += 1;
        }
    }

    /// Writes a stretch where the expected lines (`hunk.0`, indexes into the tokens) and the
    /// items (`hunk.1`, positions among the aligned items) differ, each expected line beside
    /// the item most like it; then empties it.
    fn hunk(
        &mut self,
        hunk: &mut (Vec<usize>, Vec<usize>),
        expected: &[Expected<'_>],
        expected_tokens: &[usize],
        aligned: &[usize],
        failed_first: bool,
    ) {
        let (old, new) = (std::mem::take(&mut hunk.0), std::mem::take(&mut hunk.1));
        if old.is_empty() && new.is_empty() {
            return;
        }
        let expected_texts: Vec<&str> = old
            .iter()
            .map(|&token| expected[expected_tokens[token]].text.as_str())
            .collect();
        let observed_texts: Vec<String> = new
            .iter()
            .map(|&position| self.texts[aligned[position]].clone())
            .collect();
        let observed_texts: Vec<&str> = observed_texts.iter().map(String::as_str).collect();
        // The item that failed stands against the line it failed on.
        let paired =
            (failed_first && old.first() == Some(&0) && new.first() == Some(&0)).then_some((0, 0));
        for side in order::side_by_side(&expected_texts, &observed_texts, paired) {
            match side {
                Side::Expected(index) => self.lines.push(DiffLine {
                    tag: Tag::Removed,
                    text: expected_texts[index].to_string(),
                    at: None,
                }),
                Side::Observed(index) => self.observed(aligned[new[index]], Tag::Added),
            }
        }
    }
}
