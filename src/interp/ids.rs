//! The order of SSE ids, for `expect ids increasing|contiguous`. Ids are compared in natural
//! order — split into runs of digits and runs of other characters, digit runs compared as
//! numbers and the rest as text — so whole numbers (`9` < `10`) and composite ids such as
//! `1796411252:9` < `1796411252:10` < `1796411253:0` both order as their server means them.
//! The tracker keeps the last id and the first breaks of order only, so memory does not grow
//! with the stream.

use std::cmp::Ordering;
use std::time::Duration;

/// One id, as received.
#[derive(Debug, Clone, PartialEq)]
pub struct SeenId {
    pub id: String,
    pub at: Duration,
}

/// Two ids in a row that break an order: the one before and the one that broke it.
#[derive(Debug, Clone, PartialEq)]
pub struct IdBreak {
    pub previous: SeenId,
    pub id: SeenId,
}

/// Watches SSE ids as they arrive.
#[derive(Debug, Clone, Default)]
pub struct IdTracker {
    last: Option<(SeenId, IdKey)>,
    /// The first id not above the one before.
    pub first_repeat: Option<IdBreak>,
    /// The first id above the one before that does not follow it by one (see [`follows`]).
    pub first_gap: Option<IdBreak>,
    /// How many ids were seen.
    pub seen: u64,
}

impl IdTracker {
    /// Records the id an event set explicitly.
    pub fn record(&mut self, id: &str, at: Duration) {
        self.seen += 1;
        let key = IdKey::new(id);
        let seen = SeenId {
            id: id.to_string(),
            at,
        };
        if let Some((last, last_key)) = &self.last {
            let id_break = || IdBreak {
                previous: last.clone(),
                id: seen.clone(),
            };
            if key.cmp(last_key) != Ordering::Greater {
                if self.first_repeat.is_none() {
                    self.first_repeat = Some(id_break());
                }
            } else if self.first_gap.is_none() && !follows(last_key, &key) {
                self.first_gap = Some(id_break());
            }
        }
        self.last = Some((seen, key));
    }
}

/// An id split for comparing: its runs of digits and of other characters, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdKey {
    runs: Vec<Run>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Run {
    /// Digits, without leading zeros (`"0"` for zero), and as written.
    Number {
        value: String,
        written: String,
    },
    Text(String),
}

impl IdKey {
    pub fn new(id: &str) -> IdKey {
        let mut runs: Vec<Run> = Vec::new();
        let mut rest = id;
        while let Some(first) = rest.chars().next() {
            let digits = first.is_ascii_digit();
            let end = rest
                .find(|c: char| c.is_ascii_digit() != digits)
                .unwrap_or(rest.len());
            let (run, after) = rest.split_at(end);
            runs.push(if digits {
                let value = run.trim_start_matches('0');
                Run::Number {
                    value: if value.is_empty() { "0" } else { value }.to_string(),
                    written: run.to_string(),
                }
            } else {
                Run::Text(run.to_string())
            });
            rest = after;
        }
        IdKey { runs }
    }

    /// Where the last run of digits is.
    fn last_number(&self) -> Option<usize> {
        self.runs
            .iter()
            .rposition(|run| matches!(run, Run::Number { .. }))
    }
}

impl Ord for IdKey {
    fn cmp(&self, other: &IdKey) -> Ordering {
        for (ours, theirs) in self.runs.iter().zip(&other.runs) {
            let order = match (ours, theirs) {
                (Run::Number { value: a, .. }, Run::Number { value: b, .. }) => {
                    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
                }
                (Run::Text(a), Run::Text(b)) => a.cmp(b),
                // Digits against other text: every number sorts as its first digit would, and
                // all digits alike, so the order stays transitive.
                (Run::Number { .. }, Run::Text(b)) => "0".cmp(b.as_str()),
                (Run::Text(a), Run::Number { .. }) => a.as_str().cmp("0"),
            };
            if order != Ordering::Equal {
                return order;
            }
        }
        self.runs.len().cmp(&other.runs.len())
    }
}

impl PartialOrd for IdKey {
    fn partial_cmp(&self, other: &IdKey) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Whether `id` comes right after `previous`: the two differ only in their last number, which
/// is one more (`7` → `8`, `1796411252:7` → `1796411252:8`).
pub fn follows(previous: &IdKey, id: &IdKey) -> bool {
    let (Some(at), Some(previous_at)) = (id.last_number(), previous.last_number()) else {
        return false;
    };
    at == previous_at
        && id.runs.len() == previous.runs.len()
        && id
            .runs
            .iter()
            .zip(&previous.runs)
            .enumerate()
            .all(|(index, (ours, theirs))| match (ours, theirs) {
                (Run::Number { value: a, .. }, Run::Number { value: b, .. }) if index == at => {
                    *a == successor(b)
                }
                (Run::Number { value: a, .. }, Run::Number { value: b, .. }) => a == b,
                _ => ours == theirs,
            })
}

/// The ids between `previous` and `id` when both have the same runs but for their last number:
/// the first and the last missing one (the same one when only one is missing). `None` when the
/// ids differ elsewhere too, so no run of missing ids can be named.
pub fn missing_between(previous: &str, id: &str) -> Option<(String, String)> {
    let (previous_key, key) = (IdKey::new(previous), IdKey::new(id));
    let at = key.last_number()?;
    if previous_key.last_number() != Some(at) || previous_key.runs.len() != key.runs.len() {
        return None;
    }
    let same_elsewhere = key
        .runs
        .iter()
        .zip(&previous_key.runs)
        .enumerate()
        .all(|(index, (ours, theirs))| index == at || same_run(ours, theirs));
    let (
        Run::Number {
            value: low,
            written,
        },
        Run::Number { value: high, .. },
    ) = (&previous_key.runs[at], &key.runs[at])
    else {
        return None;
    };
    if !same_elsewhere || IdKey::new(high) <= IdKey::new(&successor(low)) {
        return None;
    }
    let with_number = |number: String| {
        // Zero-padded ids stay padded to the width written.
        let number = if written.starts_with('0') && number.len() < written.len() {
            format!("{number:0>width$}", width = written.len())
        } else {
            number
        };
        let mut runs = key.runs.clone();
        runs[at] = Run::Text(number);
        runs.iter()
            .map(|run| match run {
                Run::Number { written, .. } => written.as_str(),
                Run::Text(text) => text.as_str(),
            })
            .collect::<String>()
    };
    Some((with_number(successor(low)), with_number(predecessor(high))))
}

fn same_run(ours: &Run, theirs: &Run) -> bool {
    match (ours, theirs) {
        (Run::Number { value: a, .. }, Run::Number { value: b, .. }) => a == b,
        _ => ours == theirs,
    }
}

/// `n + 1` for a decimal number of any length, without leading zeros.
fn successor(digits: &str) -> String {
    let mut out: Vec<u8> = digits.as_bytes().to_vec();
    for byte in out.iter_mut().rev() {
        if *byte == b'9' {
            *byte = b'0';
        } else {
            *byte += 1;
            return String::from_utf8(out).unwrap_or_default();
        }
    }
    format!("1{}", String::from_utf8(out).unwrap_or_default())
}

/// `n - 1` for a decimal number above zero, without leading zeros.
fn predecessor(digits: &str) -> String {
    let mut out: Vec<u8> = digits.as_bytes().to_vec();
    for byte in out.iter_mut().rev() {
        if *byte == b'0' {
            *byte = b'9';
        } else {
            *byte -= 1;
            break;
        }
    }
    let text = String::from_utf8(out).unwrap_or_default();
    let trimmed = text.trim_start_matches('0');
    if trimmed.is_empty() { "0" } else { trimmed }.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str) -> IdKey {
        IdKey::new(id)
    }

    #[test]
    fn digit_runs_compare_as_numbers_and_the_rest_as_text() {
        let ordered = [
            "",
            "1",
            "2",
            "9",
            "10",
            "010",
            "11",
            "99999999999999999999999",
            "a",
            "a-2",
            "a-10",
            "b",
        ];
        for pair in ordered.windows(2) {
            assert!(key(pair[0]) <= key(pair[1]), "{pair:?}");
        }
        assert!(key("1796411252:9") < key("1796411252:10"));
        assert!(key("1796411252:10") < key("1796411253:0"));
        assert!(key("1796411253:0") > key("1796411252:99"));
        assert_eq!(key("7").cmp(&key("007")), Ordering::Equal);
        // Transitive across numbers and text: 9 < 10, and both against ":".
        assert!(key("9") < key(":") && key("10") < key(":"));
    }

    #[test]
    fn an_id_follows_the_one_before_when_only_its_last_number_is_one_more() {
        assert!(follows(&key("9"), &key("10")));
        assert!(follows(&key("1796411252:9"), &key("1796411252:10")));
        assert!(follows(&key("a-09-x"), &key("a-10-x")));
        assert!(!follows(&key("1796411252:9"), &key("1796411253:10")));
        assert!(!follows(&key("1796411252:9"), &key("1796411253:0")));
        assert!(!follows(&key("1:9"), &key("1:11")));
        assert!(!follows(&key("a"), &key("b")));
        assert!(follows(
            &key("99999999999999999999"),
            &key("100000000000000000000")
        ));
    }

    #[test]
    fn missing_ids_are_named_in_the_shape_of_the_ids() {
        assert_eq!(
            missing_between("3", "6"),
            Some(("4".to_string(), "5".to_string()))
        );
        assert_eq!(
            missing_between("1796411252:3", "1796411252:5"),
            Some(("1796411252:4".to_string(), "1796411252:4".to_string()))
        );
        assert_eq!(
            missing_between("a-008", "a-011"),
            Some(("a-009".to_string(), "a-010".to_string()))
        );
        assert_eq!(missing_between("1796411252:3", "1796411253:0"), None);
        assert_eq!(missing_between("3", "4"), None);
    }

    #[test]
    fn the_tracker_keeps_the_first_repeat_and_the_first_gap() {
        let mut ids = IdTracker::default();
        for (n, id) in ["1:1", "1:2", "1:4", "2:0", "2:0", "1:9"]
            .iter()
            .enumerate()
        {
            ids.record(id, Duration::from_millis(n as u64));
        }
        assert_eq!(ids.seen, 6);
        let gap = ids.first_gap.expect("a gap");
        assert_eq!(
            (gap.previous.id.as_str(), gap.id.id.as_str()),
            ("1:2", "1:4")
        );
        let repeat = ids.first_repeat.expect("a repeat");
        assert_eq!(
            (repeat.previous.id.as_str(), repeat.id.id.as_str()),
            ("2:0", "2:0")
        );
    }
}
