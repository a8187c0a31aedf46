//! Reading the files a spec names or is, without hanging or exhausting memory: only regular files
//! are read (opening a named pipe waits for a writer, forever; `/dev/zero` never ends), and at
//! most a set number of bytes of one ([`MAX_SPEC_FILE_SIZE`] for specs and configs,
//! [`MAX_DATA_FILE_SIZE`] for the body and descriptor files a spec names), however it grows while
//! it is read.

use std::fs::{File, FileType, Metadata, OpenOptions};
use std::io::Read;
use std::path::Path;

/// The most a spec or config file may hold: 10 MiB, far more than any spec needs.
pub const MAX_SPEC_FILE_SIZE: u64 = 10 * 1024 * 1024;

/// The most a file a spec names (a request body, a descriptor set) may hold: 256 MiB. It is sent
/// or decoded whole, so it is held in memory whole.
pub const MAX_DATA_FILE_SIZE: u64 = 256 * 1024 * 1024;

/// A spec or config file's bytes; the error says what is wrong in words for a message
/// (`cannot read …: …`).
pub fn read(path: &Path) -> Result<Vec<u8>, String> {
    read_at_most_from(path, MAX_SPEC_FILE_SIZE, "a spec or config file")
}

/// The bytes of a file a spec names (`body file`, a descriptor set), as [`read`] reads a spec.
pub fn read_data(path: &Path) -> Result<Vec<u8>, String> {
    read_at_most_from(path, MAX_DATA_FILE_SIZE, "a file a spec names")
}

fn read_at_most_from(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>, String> {
    // `metadata` follows links, so a link to a pipe or a device is seen for what it points to.
    let metadata = std::fs::metadata(path).map_err(|error| error.to_string())?;
    regular(&metadata)?;
    if metadata.len() > limit {
        return Err(too_large(limit, what));
    }
    let file = open_without_waiting(path).map_err(|error| error.to_string())?;
    // The path may have been replaced since it was looked at: what was opened is checked too.
    regular(&file.metadata().map_err(|error| error.to_string())?)?;
    read_at_most(file, limit, what)
}

fn regular(metadata: &Metadata) -> Result<(), String> {
    if metadata.is_file() {
        Ok(())
    } else {
        Err(format!(
            "it is {}, not a regular file",
            describe(metadata.file_type())
        ))
    }
}

fn describe(file_type: FileType) -> &'static str {
    if file_type.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return "a named pipe (FIFO)";
        }
        if file_type.is_socket() {
            return "a socket";
        }
        if file_type.is_char_device() {
            return "a character device";
        }
        if file_type.is_block_device() {
            return "a block device";
        }
    }
    "a special file"
}

/// Opens for reading. On Unix the open does not wait: a path swapped for a named pipe after it
/// was looked at would otherwise block here until something writes to it. (Reads from a regular
/// file are not affected by the flag.)
pub fn open_without_waiting(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    options.open(path)
}

/// Reads to the end, or fails once there is more than `limit` bytes.
fn read_at_most(reader: impl Read, limit: u64, what: &str) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|error| error.to_string())?;
    if bytes.len() as u64 > limit {
        return Err(too_large(limit, what));
    }
    Ok(bytes)
}

fn too_large(limit: u64, what: &str) -> String {
    format!(
        "it is larger than {} MiB, the limit for {what}",
        limit / (1024 * 1024)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_that_never_ends_is_read_only_to_the_limit() {
        // What a file that keeps growing while it is read looks like.
        let too_large = || Err(too_large(3, "it"));
        assert_eq!(read_at_most(std::io::repeat(b'x'), 3, "it"), too_large());
        assert_eq!(read_at_most(&b"abc"[..], 3, "it"), Ok(b"abc".to_vec()));
        assert_eq!(read_at_most(&b"abcd"[..], 3, "it"), too_large());
    }

    #[test]
    fn a_file_of_the_largest_size_is_read_and_one_byte_more_is_not() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("a.stream");
        let file = File::create(&path).expect("create");
        file.set_len(MAX_SPEC_FILE_SIZE).expect("grow");
        assert_eq!(
            read(&path).map(|bytes| bytes.len() as u64),
            Ok(MAX_SPEC_FILE_SIZE)
        );
        file.set_len(MAX_SPEC_FILE_SIZE + 1).expect("grow");
        assert_eq!(
            read(&path),
            Err("it is larger than 10 MiB, the limit for a spec or config file".to_string())
        );
    }
}
