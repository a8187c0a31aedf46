//! The load's 1-second time series, kept so that a long soak's memory stays flat: the latest
//! seconds in memory, older ones written to an anonymous temporary file as JSON lines, read
//! back once when the report is made.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Seek, SeekFrom, Write};

use super::json::SecondReport;

/// Seconds held in memory before they go to the file: five minutes of a run.
const IN_MEMORY: usize = 300;

#[derive(Default)]
pub struct Series {
    recent: Vec<SecondReport>,
    /// Older seconds, one JSON line each; `None` until the first spill, or if the temporary file
    /// could not be made (then they stay in memory: a report with them beats one without).
    spilled: Option<BufWriter<File>>,
    spilled_len: usize,
    /// Seconds held in memory before a spill.
    limit: usize,
}

impl Series {
    pub fn new() -> Series {
        Series {
            limit: IN_MEMORY,
            ..Series::default()
        }
    }

    /// Seconds closed so far.
    pub fn seconds(&self) -> usize {
        self.spilled_len + self.recent.len()
    }

    /// Adds a second, and returns it.
    pub fn push(&mut self, second: SecondReport) -> &SecondReport {
        if self.recent.len() >= self.limit.max(1) {
            self.spill();
        }
        self.recent.push(second);
        self.recent
            .last()
            .unwrap_or_else(|| unreachable!("just pushed"))
    }

    fn spill(&mut self) {
        if self.spilled.is_none() {
            match tempfile::tempfile() {
                Ok(file) => self.spilled = Some(BufWriter::new(file)),
                Err(_) => {
                    // No room for a file: keep them in memory, and try again next time.
                    self.limit = self.limit.saturating_mul(2);
                    return;
                }
            }
        }
        let Some(file) = self.spilled.as_mut() else {
            return;
        };
        for second in self.recent.drain(..) {
            let written = serde_json::to_writer(&mut *file, &second)
                .map_err(std::io::Error::from)
                .and_then(|()| file.write_all(b"\n"));
            if written.is_err() {
                break;
            }
            self.spilled_len += 1;
        }
    }

    /// Every second, in order.
    pub fn take(&mut self) -> Vec<SecondReport> {
        let mut all = Vec::with_capacity(self.seconds());
        if let Some(file) = self.spilled.take()
            && let Ok(mut file) = file.into_inner()
            && file.seek(SeekFrom::Start(0)).is_ok()
        {
            all.extend(
                BufReader::new(file)
                    .lines()
                    .map_while(Result::ok)
                    .filter_map(|line| serde_json::from_str::<SecondReport>(&line).ok()),
            );
        }
        self.spilled_len = 0;
        all.append(&mut self.recent);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_seconds_go_to_a_file_and_come_back_in_order() {
        let mut series = Series {
            limit: 4,
            ..Series::default()
        };
        for t in 0..11u64 {
            let pushed = series.push(SecondReport {
                t,
                iterations: t * 10,
                ..SecondReport::default()
            });
            assert_eq!(pushed.t, t);
            assert_eq!(series.seconds(), t as usize + 1);
        }
        // Only the latest seconds stay in memory.
        assert!(series.recent.len() <= 4, "{}", series.recent.len());
        let all = series.take();
        assert_eq!(
            all.iter().map(|s| (s.t, s.iterations)).collect::<Vec<_>>(),
            (0..11u64).map(|t| (t, t * 10)).collect::<Vec<_>>()
        );
        assert_eq!(series.seconds(), 0);
    }
}
