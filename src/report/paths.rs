//! Report paths that name one file: two `--report-*` options of a command, or a report and a file
//! `merge` reads. Refused before the command starts, since the last report written would replace
//! the others, and a merge would write over one of its inputs. So is `-`, which many tools
//! read as standard output.
//!
//! Two paths name one file when the directories they are in are one directory (compared as the
//! system resolves them: `a/../same.out`, `./same.out` and `same.out` are one file) and their file
//! names are the same; or, for files that exist, when they are one file (hard links, symbolic links).

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

/// A report option and the path it was given: `("--report-json", "run.jsonl")`.
pub type Named<'a> = (&'a str, &'a Path);

/// An error naming the first two of `reports` that are one file, or a report that is one of
/// `inputs` (the files a merge reads, the specs and configs a run or load reads), which are
/// `inputs_are` ("one of the reports to merge").
pub fn check_distinct(
    reports: &[Named<'_>],
    inputs: &[&Path],
    inputs_are: &str,
) -> Result<(), String> {
    for (index, (option, path)) in reports.iter().enumerate() {
        // Many tools read `-` as standard output; a file of that name is not what was meant.
        if path.as_os_str() == "-" {
            return Err(format!(
                "{option} `-`: a report goes to a file; `--format` chooses what standard output shows"
            ));
        }
        if let Some(input) = inputs.iter().find(|input| same_file(path, input)) {
            return Err(format!(
                "{option} `{}` is `{}`, {inputs_are}: it would be written over",
                path.display(),
                input.display()
            ));
        }
        if let Some((other, other_path)) = reports[index + 1..]
            .iter()
            .find(|(_, other_path)| same_file(path, other_path))
        {
            return Err(format!(
                "{option} `{}` and {other} `{}` are the same file: each report needs a file of \
                 its own",
                path.display(),
                other_path.display()
            ));
        }
    }
    Ok(())
}

/// Whether `a` and `b` name one file, existing or not.
fn same_file(a: &Path, b: &Path) -> bool {
    if let (Ok(a), Ok(b)) = (fs::metadata(a), fs::metadata(b))
        && a.dev() == b.dev()
        && a.ino() == b.ino()
    {
        return true;
    }
    match (place(&link_target(a)), place(&link_target(b))) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// The most symbolic links followed to find where a path leads (as the system's own limit).
const MOST_LINKS: usize = 40;

/// Where `path` leads when it is a symbolic link, to a file that may not exist yet (writing to
/// the link makes it there); `path` itself otherwise.
fn link_target(path: &Path) -> PathBuf {
    let mut path = path.to_path_buf();
    for _ in 0..MOST_LINKS {
        let Ok(target) = fs::read_link(&path) else {
            break;
        };
        path = match path.parent() {
            Some(dir) if target.is_relative() => dir.join(target),
            _ => target,
        };
    }
    path
}

/// The directory `path` is in, as the system resolves it, and its file name: where a file that
/// does not exist yet would be made. The part of the directory that does not exist yet is taken
/// as written (`..` in it removes the name before it, as it will once it exists).
fn place(path: &Path) -> Option<(PathBuf, std::ffi::OsString)> {
    let name = path.file_name()?.to_os_string();
    let parent = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Some((resolve(&parent)?, name))
}

/// `dir` absolute, its longest existing start resolved by the system.
fn resolve(dir: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(dir).ok()?;
    let components: Vec<Component<'_>> = absolute.components().collect();
    for existing in (1..=components.len()).rev() {
        let start: PathBuf = components[..existing].iter().collect();
        if let Ok(mut resolved) = fs::canonicalize(&start) {
            for component in &components[existing..] {
                match component {
                    Component::ParentDir => {
                        resolved.pop();
                    }
                    Component::CurDir => {}
                    other => resolved.push(other),
                }
            }
            return Some(resolved);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_written_differently_in_directories_not_made_yet_are_one_file() {
        let dir = tempfile::tempdir().expect("a directory");
        let a = dir.path().join("new/x/../r.out");
        let b = dir.path().join("new/./r.out");
        assert!(same_file(&a, &b));
        assert!(!same_file(&a, &dir.path().join("new/x/r.out")));
    }

    #[test]
    fn a_dash_is_no_report_file() {
        let error = check_distinct(&[("--report-json", Path::new("-"))], &[], "inputs")
            .expect_err("refused");
        assert_eq!(
            error,
            "--report-json `-`: a report goes to a file; `--format` chooses what standard output shows"
        );
    }

    #[test]
    fn a_link_to_a_file_not_made_yet_is_that_file() {
        let dir = tempfile::tempdir().expect("a directory");
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink("a.json", &link).expect("linked");
        assert!(same_file(&link, &dir.path().join("a.json")));
        assert!(!same_file(&link, &dir.path().join("b.json")));
    }

    #[test]
    fn a_hard_link_is_the_file_it_links() {
        let dir = tempfile::tempdir().expect("a directory");
        let file = dir.path().join("r.out");
        fs::write(&file, "").expect("written");
        let link = dir.path().join("link.out");
        fs::hard_link(&file, &link).expect("linked");
        assert!(same_file(&file, &link));
    }
}
