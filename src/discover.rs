//! Finding spec files: the paths given, with directories searched recursively for `.stream`
//! files in a stable (sorted) order.

use std::path::{Path, PathBuf};

/// The extension of spec files.
pub const SPEC_EXTENSION: &str = "stream";

/// Directories never searched: build output and dependencies, not specs.
const SKIPPED_DIRS: &[&str] = &["target", "node_modules"];

/// Expands files and directories into spec files. A file given by name is taken whatever its
/// extension; a path that does not exist is an error.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    find(paths, &|path| {
        path.extension().is_some_and(|ext| ext == SPEC_EXTENSION)
    })
}

/// Expands files and directories into the files under them that `wanted` picks (files given by
/// name are taken as they are), sorted per directory, each once.
pub fn find(paths: &[PathBuf], wanted: &dyn Fn(&Path) -> bool) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for path in paths {
        let metadata = std::fs::metadata(path)
            .map_err(|error| format!("cannot read `{}`: {error}", path.display()))?;
        if metadata.is_dir() {
            let mut found = Vec::new();
            walk(path, &mut found, wanted)
                .map_err(|error| format!("cannot read `{}`: {error}", path.display()))?;
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    // `a.stream` and `./a.stream` are one file: run it once.
    let mut seen = std::collections::HashSet::new();
    files.retain(|file| seen.insert(std::fs::canonicalize(file).unwrap_or_else(|_| file.clone())));
    Ok(files)
}

fn walk(
    dir: &Path,
    found: &mut Vec<PathBuf>,
    wanted: &dyn Fn(&Path) -> bool,
) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if entry.file_type()?.is_dir() {
            if !name.starts_with('.') && !SKIPPED_DIRS.contains(&name.as_ref()) {
                walk(&path, found, wanted)?;
            }
        } else if wanted(&path) {
            found.push(path);
        }
    }
    Ok(())
}
