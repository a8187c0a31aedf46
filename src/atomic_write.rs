//! Writing a file so it is never half-written: a temporary file in the same directory, synced,
//! then renamed over the target. Used by `fmt` and by `run --update`.

use std::io::Write;
use std::path::Path;

/// Writes `text` to `target` with the permissions of `permissions_of` (the target itself, or the
/// spec a pending `.new` file stands for). A target that is a symbolic link stays one: its
/// destination is written.
pub fn write_atomically(target: &Path, text: &str, permissions_of: &Path) -> std::io::Result<()> {
    let target = match std::fs::canonicalize(target) {
        Ok(resolved) => resolved,
        Err(_) => target.to_path_buf(),
    };
    let dir = match target.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let permissions = std::fs::metadata(permissions_of)?.permissions();
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    temp.write_all(text.as_bytes())?;
    temp.as_file().sync_all()?;
    std::fs::set_permissions(temp.path(), permissions)?;
    temp.persist(&target).map_err(|error| error.error)?;
    Ok(())
}
