//! Report files (`--report-*`): opened without waiting, and written by a thread of their own.
//!
//! Opening a named pipe for writing waits until a process opens it for reading, and writing to one
//! waits while its reader is not reading. Either wait could last for ever, and the run would sit
//! in it deaf to Ctrl-C and SIGTERM, which are caught (see [`crate::stop_signals`]) and only acted
//! on where the run looks for them. So a report file is opened without waiting, a named pipe that
//! no process reads being an error before the run starts; and what the reporters write goes to a
//! thread that does the writing, so that the run never waits for a reader. At its end the run waits
//! for those threads, and a stop signal ends that wait (see [`super::Reports::finish`]).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;
use std::sync::mpsc;

use tokio::sync::oneshot;

/// Creates the directories a report file at `path` goes in, where they are missing: every
/// `--report-*` path is taken so (as nextest and k6 do), a path that cannot be made an error.
pub fn create_parents(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => {
            std::fs::create_dir_all(dir).map_err(|error| not_a_directory(dir).unwrap_or(error))
        }
        _ => Ok(()),
    }
}

/// The file standing where `dir` needs a directory, if one does: `create_dir_all` says only
/// "File exists" of it.
fn not_a_directory(dir: &Path) -> Option<io::Error> {
    let file = dir
        .ancestors()
        .find(|ancestor| ancestor.is_file() || ancestor.is_symlink() && !ancestor.exists())?;
    Some(io::Error::new(
        io::ErrorKind::NotADirectory,
        format!("`{}` is a file, not a directory", file.display()),
    ))
}

/// Writes a whole report file at once (the load's, made when it ends), its directories created.
pub fn write_whole(path: &Path, contents: impl AsRef<[u8]>) -> io::Result<()> {
    create_parents(path)?;
    std::fs::write(path, contents)
}

/// Opens a report file for writing, creating or truncating it (a device or a named pipe is
/// opened as it is). Never waits for a named pipe's reader: without one, this fails with an error
/// that says so.
pub fn open(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|error| {
            // ENXIO is what a named pipe without a reader answers (and a socket, which no
            // report can be written to anyway).
            let is_pipe = std::fs::metadata(path).is_ok_and(|meta| meta.file_type().is_fifo());
            if error.raw_os_error() == Some(libc::ENXIO) && is_pipe {
                io::Error::new(
                    io::ErrorKind::NotConnected,
                    "it is a named pipe that no process is reading",
                )
            } else {
                error
            }
        })?;
    // Writes wait from here on (a full pipe is not an error), on the report's own thread.
    set_blocking(&file)?;
    Ok(file)
}

fn set_blocking(file: &File) -> io::Result<()> {
    let fd = file.as_raw_fd();
    // SAFETY: fcntl(2) on a descriptor `file` owns, with flags that only change how reads and
    // writes wait.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// What a reporter writes a report file through: each write is handed to the file's thread and
/// never waits. Dropping it ends the report: the thread writes what is left, flushes, and ends.
pub struct Spool {
    chunks: mpsc::Sender<Vec<u8>>,
}

/// The end of a report file's writing, to wait for; `None` once seen.
pub struct Written(Option<oneshot::Receiver<()>>);

impl Written {
    /// Waits until everything handed to the [`Spool`] was written (or failed to be: the writer's
    /// own [`crate::output::Delivery`] keeps the error) and the spool was dropped.
    pub async fn wait(&mut self) {
        if let Some(done) = &mut self.0 {
            let _ = done.await;
            self.0 = None;
        }
    }

    /// Whether the writing has ended.
    pub fn is_done(&mut self) -> bool {
        let Some(done) = &mut self.0 else {
            return true;
        };
        if matches!(done.try_recv(), Err(oneshot::error::TryRecvError::Empty)) {
            return false;
        }
        self.0 = None;
        true
    }
}

/// Starts the thread that writes to `out` what is written to the returned [`Spool`].
pub fn spool(mut out: impl Write + Send + 'static) -> io::Result<(Spool, Written)> {
    let (chunks, received) = mpsc::channel::<Vec<u8>>();
    let (done, written) = oneshot::channel();
    std::thread::Builder::new()
        .name("report-writer".to_string())
        .spawn(move || {
            // Errors are `out`'s to keep (a `Checked` writer); after one, the rest goes nowhere.
            for chunk in received {
                let _ = out.write_all(&chunk);
            }
            let _ = out.flush();
            let _ = done.send(());
        })?;
    Ok((Spool { chunks }, Written(Some(written))))
}

impl Write for Spool {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.chunks
            .send(buf.to_vec())
            .map_err(|_| io::Error::other("the report's writer has stopped"))?;
        Ok(buf.len())
    }

    /// The thread writes each chunk as it comes: there is nothing to flush here.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::time::Duration;

    #[test]
    fn a_file_where_a_directory_is_needed_is_named() {
        let dir = tempfile::tempdir().expect("a directory");
        let file = dir.path().join("spec.stream");
        std::fs::write(&file, "").expect("written");
        let error = create_parents(&file.join("deeper/report.json")).expect_err("refused");
        assert_eq!(
            error.to_string(),
            format!("`{}` is a file, not a directory", file.display())
        );
    }

    #[tokio::test]
    async fn what_is_spooled_is_written_in_order_and_then_the_writing_ends() {
        let (reader, writer) = std::io::pipe().expect("a pipe");
        let (mut spool, mut written) = spool(writer).expect("a thread");
        spool.write_all(b"one\n").expect("spooled");
        spool.write_all(b"two\n").expect("spooled");
        assert!(!written.is_done());
        drop(spool);
        tokio::time::timeout(Duration::from_secs(10), written.wait())
            .await
            .expect("the writing ends");
        assert!(written.is_done());
        let mut text = String::new();
        let mut reader = reader;
        reader.read_to_string(&mut text).expect("read");
        assert_eq!(text, "one\ntwo\n");
    }

    #[test]
    fn a_named_pipe_without_a_reader_is_an_error_not_a_wait() {
        let dir = tempfile::tempdir().expect("a directory");
        let fifo = dir.path().join("report.fifo");
        let c_path = std::ffi::CString::new(fifo.to_str().expect("UTF-8")).expect("a C string");
        // SAFETY: mkfifo(3) with a valid C string.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o644) }, 0);
        let error = open(&fifo).expect_err("no reader");
        assert_eq!(
            error.to_string(),
            "it is a named pipe that no process is reading"
        );
    }
}
