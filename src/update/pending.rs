//! Pending updates (`--update=pending`): `name.stream.new` files beside the specs, and what
//! `streamspec review`, `accept` and `reject` do with them.

use std::path::{Path, PathBuf};

use crate::atomic_write;
use crate::discover;

/// The suffix a pending update adds to the spec's file name.
pub const PENDING_SUFFIX: &str = ".new";

/// `a.stream` → `a.stream.new`.
pub fn pending_path(spec: &Path) -> PathBuf {
    let mut name = spec.as_os_str().to_os_string();
    name.push(PENDING_SUFFIX);
    PathBuf::from(name)
}

/// `a.stream.new` → `a.stream`, for a path that is a pending update.
pub fn spec_of(pending: &Path) -> Option<PathBuf> {
    let text = pending.to_str()?;
    let spec = text.strip_suffix(PENDING_SUFFIX)?;
    spec.ends_with(&format!(".{}", discover::SPEC_EXTENSION))
        .then(|| PathBuf::from(spec))
}

/// The pending updates under the paths (spec files given by name stand for their pending file).
pub fn find_pending(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let given: Vec<PathBuf> = paths
        .iter()
        .map(|path| match spec_of(path) {
            None if path.is_file() => pending_path(path),
            _ => path.clone(),
        })
        .collect();
    let mut found = Vec::new();
    for path in given {
        if path.is_dir() {
            found.extend(discover::find(std::slice::from_ref(&path), &|p| {
                spec_of(p).is_some()
            })?);
        } else if path.is_file() && spec_of(&path).is_some() {
            found.push(path);
        }
    }
    Ok(found)
}

/// Writes the pending file's text over its spec (atomically, under the spec's lock, through a
/// symbolic link to the file it points to), then removes the pending file. Refused when the
/// spec changed after the pending file was written: accepting would undo that change.
pub fn accept(pending: &Path) -> Result<PathBuf, String> {
    let spec = spec_of(pending)
        .ok_or_else(|| format!("`{}` is not a pending update", pending.display()))?;
    // A named pipe or a device would replace the spec with something no command can read.
    crate::spec_file::require_regular(pending)
        .map_err(|error| format!("cannot accept `{}`: {error}", pending.display()))?;
    if std::fs::metadata(&spec).is_ok_and(|m| m.permissions().readonly()) {
        return Err(format!("`{}` is read-only", spec.display()));
    }
    let modified = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    if let (Some(spec_time), Some(pending_time)) = (modified(&spec), modified(pending))
        && spec_time > pending_time
    {
        return Err(format!(
            "`{}` changed after its pending update was written; accepting would undo that: \
             run the update again, or reject it",
            spec.display()
        ));
    }
    let text = std::fs::read_to_string(pending)
        .map_err(|error| format!("cannot read `{}`: {error}", pending.display()))?;
    let cannot_replace =
        |error: std::io::Error| format!("cannot replace `{}`: {error}", spec.display());
    let _lock = atomic_write::lock(&spec).map_err(cannot_replace)?;
    atomic_write::write_atomically(&spec, &text, &spec).map_err(cannot_replace)?;
    std::fs::remove_file(pending)
        .map_err(|error| format!("cannot remove `{}`: {error}", pending.display()))?;
    Ok(spec)
}

/// Deletes the pending file.
pub fn reject(pending: &Path) -> Result<(), String> {
    std::fs::remove_file(pending)
        .map_err(|error| format!("cannot remove `{}`: {error}", pending.display()))
}
