//! `where` groups: items routed by the value of a key to one matcher per group.

use std::time::Duration;

use super::{BlockMatcher, Terminal};
use crate::ast::WhereGroup;
use crate::pattern::ItemView;
use crate::pattern::json::{match_json_shaped, render_value_short};
use crate::transport::grpc::shape::Shape;

/// Matching state for consecutive `where` groups in progress: one matcher per group, each with
/// the time of its own previous item (a group's `within` is measured between its own items).
#[derive(Clone)]
pub(super) struct SplitState<'p> {
    pub(super) groups: Vec<(BlockMatcher<'p>, Option<Duration>)>,
}

impl<'p> SplitState<'p> {
    pub(super) fn new(groups: &'p [WhereGroup]) -> Self {
        SplitState {
            groups: groups
                .iter()
                .map(|group| (BlockMatcher::new(&group.body), None))
                .collect(),
        }
    }

    pub(super) fn is_complete(&self) -> bool {
        self.groups.iter().all(|(matcher, _)| matcher.is_complete())
    }

    /// Whether every group could stop here: nothing it still requires is missing.
    pub(super) fn could_stop(&self) -> bool {
        self.groups
            .iter()
            .all(|(matcher, _)| matcher.clone().finish(&Terminal::End).is_ok())
    }
}

/// The value of a group's key in an item, if the item has one, with its shape on a gRPC reply.
fn key_value(
    group: &WhereGroup,
    json: &serde_json::Value,
    shape: Option<&Shape>,
) -> Option<(serde_json::Value, Option<Shape>)> {
    crate::pattern::path::select_refs(&group.query, json, shape)
        .into_iter()
        .next()
        .map(|(value, shape)| (value.clone(), shape))
}

/// Whether the key's value matches the group's.
fn key_matches(group: &WhereGroup, (value, shape): &(serde_json::Value, Option<Shape>)) -> bool {
    match_json_shaped(&group.value, value, shape.as_ref(), &mut Vec::new()).is_ok()
}

/// Whether an item's key has the group's value.
pub fn belongs_to(group: &WhereGroup, view: &ItemView<'_>) -> bool {
    view.json()
        .ok()
        .and_then(|json| key_value(group, json, view.shape()))
        .is_some_and(|key| key_matches(group, &key))
}

/// The group an item belongs to: the first whose key has the group's value.
pub(super) fn route(groups: &[WhereGroup], view: &ItemView<'_>) -> Result<usize, String> {
    let json = view
        .json()
        .map_err(|reason| format!("an item with {reason}"))?;
    let mut found = None;
    for (index, group) in groups.iter().enumerate() {
        let Some(key) = key_value(group, json, view.shape()) else {
            continue;
        };
        if key_matches(group, &key) {
            return Ok(index);
        }
        found.get_or_insert_with(|| format!("{} {}", group.key.value, render_value_short(&key.0)));
    }
    Err(found.unwrap_or_else(|| {
        let keys: Vec<&str> = groups.iter().map(|g| g.key.value.as_str()).collect();
        format!("an item without `{}`", keys[0])
    }))
}
