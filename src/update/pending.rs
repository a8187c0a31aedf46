//! Pending updates (`--update=pending`): `name.stream.new` files beside the specs, and what
//! `streamspec review`, `accept` and `reject` do with them.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::atomic_write;
use crate::discover;

/// The suffix a pending update adds to the spec's file name.
pub const PENDING_SUFFIX: &str = ".new";

/// How long `git check-ignore` may take before the hint is left out.
const GIT_TIMEOUT: Duration = Duration::from_secs(5);

/// The most pending files given to one `git check-ignore`: enough to tell, short enough for a
/// command line.
const MAX_CHECKED: usize = 200;

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

/// The line a run prints, once, when it wrote pending files that git would see: they are not
/// for committing, and the line says what to add to `.gitignore`. `None` outside a git work
/// tree (found by its `.git`, without running git), when `git check-ignore` says git ignores
/// them all, or when git cannot say (not installed, an error, no answer within 5 seconds).
/// Only the files in the work tree of the first are checked.
pub async fn gitignore_hint(written: &[PathBuf]) -> Option<String> {
    let first = std::path::absolute(written.first()?).ok()?;
    let work_tree = first
        .ancestors()
        .skip(1)
        .find(|dir| dir.join(".git").exists())?;
    let paths: Vec<PathBuf> = written
        .iter()
        .filter_map(|path| std::path::absolute(path).ok())
        .filter(|path| path.starts_with(work_tree))
        .take(MAX_CHECKED)
        .collect();
    let mut git = tokio::process::Command::new("git");
    git.arg("-C")
        .arg(work_tree)
        .args(["check-ignore", "--"])
        .args(&paths)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(GIT_TIMEOUT, git.output())
        .await
        .ok()?
        .ok()?;
    // 0: some are ignored, 1: none is; anything else: git could not say. Each ignored path is
    // printed on a line of its own (quoted when it holds a line break).
    if !matches!(output.status.code(), Some(0 | 1)) {
        return None;
    }
    let ignored = output
        .stdout
        .split(|&byte| byte == b'\n')
        .filter(|path| !path.is_empty())
        .count();
    (ignored < paths.len()).then(|| {
        format!(
            "hint: git does not ignore pending updates: add `*.{}{PENDING_SUFFIX}` to .gitignore",
            discover::SPEC_EXTENSION
        )
    })
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
    // Read as a spec is: a named pipe or a device would hang or never end, and a file too large
    // for a spec would replace it with one no command reads.
    let bytes = crate::spec_file::read(pending)
        .map_err(|error| format!("cannot accept `{}`: {error}", pending.display()))?;
    let text = String::from_utf8(bytes).map_err(|_| {
        format!(
            "cannot accept `{}`: the file is not valid UTF-8",
            pending.display()
        )
    })?;
    let cannot_replace =
        |error: std::io::Error| format!("cannot replace `{}`: {error}", spec.display());
    // Before the age check: whatever the pending file's age, a read-only spec stays as it is.
    atomic_write::refuse_read_only(&spec).map_err(cannot_replace)?;
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
