//! A service's `ready` probe in `streamspec.toml`: `{ http = "…" }`, with the statuses that mean
//! ready (`status`, by default any 2xx or 3xx, as Docker health checks and Kubernetes probes
//! take 200–399), or `{ tcp = "host:port" }`.

use toml::de::DeValue;

use super::Readiness;
use super::loader::{Loader, Place, Value, a_type, entries, span};
use crate::ast::StatusPattern;

pub(super) const READY_KEYS: [&str; 3] = ["http", "tcp", "status"];

/// The answers of a readiness URL that mean the service is ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadyStatus {
    /// Never empty.
    accepted: Vec<StatusPattern>,
}

impl Default for ReadyStatus {
    /// A 2xx or a 3xx: the server is up and says so. A 404 usually means the URL is wrong or the
    /// routes are not loaded yet, and a 5xx that the service is not ready.
    fn default() -> ReadyStatus {
        ReadyStatus {
            accepted: vec![StatusPattern::Class(2), StatusPattern::Class(3)],
        }
    }
}

impl ReadyStatus {
    pub fn accepts(&self, status: u16) -> bool {
        self.accepted.iter().any(|pattern| pattern.matches(status))
    }

    /// "2xx or 3xx", "204", "200, 204 or 3xx".
    pub fn describe(&self) -> String {
        let words: Vec<String> = self
            .accepted
            .iter()
            .map(|pattern| match pattern {
                StatusPattern::Exact(code) => code.to_string(),
                StatusPattern::Class(class) => format!("{class}xx"),
            })
            .collect();
        match words.split_last() {
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        }
    }

    /// Whether `status = …` was written: the default goes without saying.
    pub fn is_default(&self) -> bool {
        *self == ReadyStatus::default()
    }
}

impl Loader {
    pub(super) fn ready(&mut self, value: &Value<'_>) -> Option<Readiness> {
        let table = self.table(value, "`ready`")?;
        let mut probes = Vec::new();
        let mut status = None;
        for (key, value) in entries(table) {
            match key.get_ref().as_ref() {
                word @ ("http" | "tcp") => {
                    if let Some(text) = self.string(value, &format!("`ready.{word}`")) {
                        probes.push((word == "http", text));
                    }
                }
                "status" => status = Some((span(key), self.ready_status(value))),
                _ => self.unknown_key(
                    key,
                    &READY_KEYS,
                    Place {
                        noun: "readiness probe",
                        label: "not a probe",
                        known: "`ready` takes one of",
                    },
                ),
            }
        }
        if probes.len() > 1 {
            self.error(
                "`ready` takes `http` or `tcp`, not both",
                span(value),
                "both given here",
            );
            return None;
        }
        let probe = probes.pop();
        if let (Some((false, _)), Some((status_span, _))) = (&probe, &status) {
            self.error(
                "`status` goes with `http`: a TCP probe gets no status",
                *status_span,
                "not for `tcp`",
            );
        }
        match probe {
            None => {
                if table.is_empty() || status.is_some() {
                    let message = if table.is_empty() {
                        "`ready` is empty"
                    } else {
                        "`ready` has a `status` but no `http` URL to ask"
                    };
                    self.error(message, span(value), "expected `http` or `tcp`")
                        .notes
                        .push(
                            "help: write `ready = { http = \"http://127.0.0.1:{{port}}/health\" }` or `ready = { tcp = \"127.0.0.1:{{port}}\" }`, or leave `ready` out"
                                .to_string(),
                        );
                }
                None
            }
            Some((true, url)) => {
                if url.text.starts_with("https://") {
                    self.error(
                        "the readiness probe speaks plain HTTP, not HTTPS",
                        url.span,
                        "an https:// URL",
                    )
                    .notes
                    .push("help: use an `http://` URL, or `tcp = \"host:port\"` for a TLS-only service".to_string());
                }
                let status = match status {
                    Some((_, Some(status))) => status,
                    // Reported already.
                    Some((_, None)) => return None,
                    None => ReadyStatus::default(),
                };
                Some(Readiness::Http { url, status })
            }
            Some((false, address)) => Some(Readiness::Tcp(address)),
        }
    }

    /// `status = 200`, `status = "2xx"`, or a list of those.
    fn ready_status(&mut self, value: &Value<'_>) -> Option<ReadyStatus> {
        let accepted = match value.get_ref() {
            DeValue::Array(items) => {
                let patterns: Vec<_> = items
                    .iter()
                    .filter_map(|item| self.status_pattern(item))
                    .collect();
                if items.is_empty() {
                    self.error(
                        "`status` is an empty list",
                        span(value),
                        "expected at least one status",
                    );
                }
                if patterns.len() < items.len() || patterns.is_empty() {
                    return None;
                }
                patterns
            }
            _ => vec![self.status_pattern(value)?],
        };
        Some(ReadyStatus { accepted })
    }

    fn status_pattern(&mut self, value: &Value<'_>) -> Option<StatusPattern> {
        let pattern = match value.get_ref() {
            DeValue::Integer(integer) => i64::from_str_radix(integer.as_str(), integer.radix())
                .ok()
                .and_then(|code| u16::try_from(code).ok())
                .filter(|code| (100..=599).contains(code))
                .map(StatusPattern::Exact),
            DeValue::String(text) => parse_status(text),
            other => {
                let found = a_type(other);
                self.error(
                    format!("`status` must be a status such as 200 or \"2xx\", not {found}"),
                    span(value),
                    "expected a status",
                );
                return None;
            }
        };
        if pattern.is_none() {
            let written = self.written(span(value)).to_string();
            self.error(
                format!("{written} is not an HTTP status"),
                span(value),
                "expected a status",
            )
            .notes
            .push(
                "help: write a status from 100 to 599, such as `200`, or a class, such as `\"2xx\"`"
                    .to_string(),
            );
        }
        pattern
    }
}

/// `"204"` or a class, `"2xx"`.
fn parse_status(text: &str) -> Option<StatusPattern> {
    let number = |digits: &str| {
        (!digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()))
            .then(|| digits.parse::<u16>().ok())
            .flatten()
    };
    let text = text.trim();
    if let Some(class) = text
        .strip_suffix("xx")
        .or_else(|| text.strip_suffix("XX"))
        .and_then(number)
        .filter(|class| (1..=5).contains(class))
    {
        return Some(StatusPattern::Class(class));
    }
    number(text)
        .filter(|code| (100..=599).contains(code))
        .map(StatusPattern::Exact)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_read_and_described() {
        assert_eq!(ReadyStatus::default().describe(), "2xx or 3xx");
        assert_eq!(parse_status("204"), Some(StatusPattern::Exact(204)));
        assert_eq!(parse_status("4xx"), Some(StatusPattern::Class(4)));
        assert_eq!(parse_status("4XX"), Some(StatusPattern::Class(4)));
        for bad in ["", "6xx", "0xx", "x", "99", "600", "2x", "+2xx"] {
            assert_eq!(parse_status(bad), None, "{bad:?}");
        }
        let status = ReadyStatus {
            accepted: vec![
                StatusPattern::Exact(200),
                StatusPattern::Exact(204),
                StatusPattern::Class(3),
            ],
        };
        assert_eq!(status.describe(), "200, 204 or 3xx");
        assert!(status.accepts(204) && status.accepts(302) && !status.accepts(201));
    }
}
