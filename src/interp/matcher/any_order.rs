//! `any order { … }`: items assigned to the group's patterns as they arrive, an earlier one
//! moved to another pattern when a later one needs its place (bipartite matching).

use super::BlockMatcher;
use crate::ast::ItemLine;
use crate::pattern::{Captures, ItemView, match_item};
use crate::render::render_item_line;
use crate::transport::item::Item;

/// Matching state for one `any order` group in progress.
#[derive(Debug, Clone, Default)]
pub(super) struct AnyOrderState {
    /// For each pattern of the group, the index (in `seen`) of the item assigned to it.
    pub(super) assigned: Vec<Option<usize>>,
    /// The items seen so far in the group, each as the set of patterns it matches.
    seen: Vec<Vec<usize>>,
    /// The items themselves: an item may move to another pattern when a later one arrives, so
    /// captures are taken only once the group is complete.
    items: Vec<Item>,
}

impl BlockMatcher<'_> {
    /// Assigns the item to a pattern of the group, re-arranging earlier assignments if needed
    /// (bipartite matching, so overlapping patterns are handled). `Some(true)` when the group is
    /// now complete, `Some(false)` when it needs more, `None` when the item fits no open pattern.
    pub(super) fn feed_any_order(
        &mut self,
        lines: &[ItemLine],
        view: &ItemView<'_>,
        captures: &mut Captures,
    ) -> Option<bool> {
        let state = self.any_order.get_or_insert_with(|| AnyOrderState {
            assigned: vec![None; lines.len()],
            seen: Vec::new(),
            items: Vec::new(),
        });
        let mut fits = Vec::new();
        for (index, line) in lines.iter().enumerate() {
            self.scratch.clear();
            if match_item(&line.pattern, view, &mut self.scratch).is_ok() {
                fits.push(index);
            }
        }
        if fits.is_empty() {
            return None;
        }
        let item = state.seen.len();
        state.seen.push(fits);
        let mut visited = vec![false; lines.len()];
        if !augment(item, &state.seen, &mut state.assigned, &mut visited) {
            state.seen.pop();
            return None;
        }
        state.items.push(view.item.clone());
        if !state.assigned.iter().all(Option::is_some) {
            return Some(false);
        }
        for (pattern, item) in state.assigned.iter().enumerate() {
            if let Some(item) = item.and_then(|index| state.items.get(index)) {
                let _ = match_item(&lines[pattern].pattern, &ItemView::new(item), captures);
            }
        }
        Some(true)
    }

    pub(super) fn open_any_order(&self, lines: &[ItemLine]) -> Vec<String> {
        lines
            .iter()
            .enumerate()
            .filter(|(index, _)| {
                self.any_order
                    .as_ref()
                    .is_none_or(|state| state.assigned[*index].is_none())
            })
            .map(|(_, line)| render_item_line(line))
            .collect()
    }
}

/// Kuhn's augmenting path: tries to give `item` a pattern, moving earlier items if needed.
fn augment(
    item: usize,
    seen: &[Vec<usize>],
    assigned: &mut [Option<usize>],
    visited: &mut [bool],
) -> bool {
    for &pattern in &seen[item] {
        if visited[pattern] {
            continue;
        }
        visited[pattern] = true;
        let free = match assigned[pattern] {
            None => true,
            Some(other) => augment(other, seen, assigned, visited),
        };
        if free {
            assigned[pattern] = Some(item);
            return true;
        }
    }
    false
}
