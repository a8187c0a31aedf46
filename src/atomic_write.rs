//! Writing a file so it is never half-written: a temporary file in the same directory, synced,
//! then renamed over the target. And an advisory lock on the file, held across reading it and
//! writing it back, so that two programs rewriting one file (`run --update`, `accept`, `fmt`)
//! never lose each other's change. A read-only file is never replaced. Used by `fmt`,
//! `run --update` and `accept`.

use std::fs::{File, TryLockError};
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long to wait for another program's lock on a file: they hold it only to rewrite it.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// How often to try again while another program holds the lock.
const LOCK_RETRY: Duration = Duration::from_millis(5);

/// Writes `text` to `target` with the permissions of `permissions_of` (the target itself, or the
/// spec a pending `.new` file stands for). A target that is a symbolic link stays one: its
/// destination is written. Either file being read-only refuses the write (see
/// [`refuse_read_only`]).
pub fn write_atomically(target: &Path, text: &str, permissions_of: &Path) -> std::io::Result<()> {
    refuse_read_only(permissions_of)?;
    if target != permissions_of && target.exists() {
        refuse_read_only(target)?;
    }
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
    // Through the `File`: its errors do not name the temporary file, which the user never sees
    // (it is removed when `temp` is dropped).
    temp.as_file_mut().write_all(text.as_bytes())?;
    temp.as_file().sync_all()?;
    std::fs::set_permissions(temp.path(), permissions)?;
    temp.persist(&target).map_err(|error| error.error)?;
    Ok(())
}

/// An error when the file's permissions say it is read-only: the user asked for it to be left
/// alone, though a rename in a writable directory would replace it (and root writes regardless).
pub fn refuse_read_only(path: &Path) -> std::io::Result<()> {
    if std::fs::metadata(path)?.permissions().readonly() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "the file is read-only",
        ));
    }
    Ok(())
}

/// An exclusive advisory lock on a file, released when dropped. Every program that rewrites
/// spec files through [`lock`] waits for the others.
#[derive(Debug)]
pub struct FileLock {
    _file: File,
}

/// Locks the file `path` names (through symbolic links: the file they point to), waiting a
/// bounded time for another holder. A rewrite replaces the file by a rename, so a lock taken on
/// the file just replaced is on a file no longer there: then the new one is locked instead.
pub fn lock(path: &Path) -> std::io::Result<FileLock> {
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        // Without waiting: a named pipe in the file's place must not block the lock (reading
        // it is refused afterwards).
        let file = crate::spec_file::open_without_waiting(path)?;
        match file.try_lock() {
            Ok(()) if is_still_at(&file, path)? => return Ok(FileLock { _file: file }),
            // Replaced while we waited: lock what is there now.
            Ok(()) | Err(TryLockError::WouldBlock) if Instant::now() < deadline => {}
            Ok(()) | Err(TryLockError::WouldBlock) => return Err(kept_locked()),
            Err(TryLockError::Error(error)) => return Err(error),
        }
        drop(file);
        std::thread::sleep(LOCK_RETRY);
    }
}

fn kept_locked() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::WouldBlock,
        format!(
            "another program kept it locked for {}s",
            LOCK_WAIT.as_secs()
        ),
    )
}

/// Whether the open `file` is the one `path` names now.
fn is_still_at(file: &File, path: &Path) -> std::io::Result<bool> {
    use std::os::unix::fs::MetadataExt;
    let open = file.metadata()?;
    let named = std::fs::metadata(path)?;
    Ok(open.dev() == named.dev() && open.ino() == named.ino())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_is_exclusive_and_follows_the_file_a_rename_puts_in_place() {
        let dir = tempfile::tempdir().expect("a directory");
        let path = dir.path().join("a.stream");
        std::fs::write(&path, "one").expect("write");
        let held = lock(&path).expect("the first lock");
        let other = File::open(&path).expect("open");
        assert!(matches!(other.try_lock(), Err(TryLockError::WouldBlock)));
        // The holder replaces the file, then lets go: the next lock is on the new file.
        write_atomically(&path, "two", &path).expect("replace");
        drop(held);
        drop(other);
        let next = lock(&path).expect("the next lock");
        let again = File::open(&path).expect("open the new file");
        assert!(matches!(again.try_lock(), Err(TryLockError::WouldBlock)));
        drop(next);
    }
}
