//! Patterns that use a capture their own block makes (`late`): bound to the variables as
//! their item is about to be matched.

use super::{FailureKind, MatchFailure};
use crate::ast::ItemPattern;

/// Binds the variables of a pattern that uses a capture its own block makes (one marked
/// `late`), as the pattern is about to be matched. The error says which variable is not set.
pub trait Bind {
    fn bind(&self, pattern: &ItemPattern) -> Result<ItemPattern, String>;
}

/// For matching without variables: a late pattern stays as it is.
impl Bind for () {
    fn bind(&self, pattern: &ItemPattern) -> Result<ItemPattern, String> {
        Ok(pattern.clone())
    }
}

/// The pattern to match: a late one bound now (kept in `late`), any other as it is. A
/// reference either way: a pattern is a few hundred bytes, and an owned or borrowed one handed
/// back by value was copied on every item.
pub(super) fn bind<'a>(
    pattern: &'a ItemPattern,
    binder: &dyn Bind,
    late: &'a mut Option<ItemPattern>,
) -> Result<&'a ItemPattern, MatchFailure> {
    if !pattern.late {
        return Ok(pattern);
    }
    let bound = binder.bind(pattern).map_err(|message| MatchFailure {
        span: pattern.span,
        kind: FailureKind::Unbound { message },
    })?;
    Ok(late.insert(bound))
}
