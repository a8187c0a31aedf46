//! The `[load]` section of `streamspec.toml`: the default profile and thresholds of
//! `streamspec load` for the specs under it (see `crate::load::settings`). Each value is checked
//! here, so `streamspec check` points at a bad one.

use toml::de::{DeTable, DeValue};

use super::loader::{Loader, Place, Value, a_type, entries, span};
use super::{ConfigString, LoadConfig};
use crate::load::settings::{
    CONFLICTS, Setting, parse_rate, parse_stages, parse_think, parse_users,
};
use crate::load::thresholds::Threshold;
use crate::source::Span;

const LOAD_KEYS: [&str; 11] = [
    "users",
    "rate",
    "duration",
    "iterations",
    "stages",
    "think",
    "max_users",
    "max_new_users",
    "graceful_stop",
    "thresholds",
    "tokens",
];

impl Loader {
    pub(super) fn load(&mut self, table: &DeTable<'_>) -> LoadConfig {
        let mut load = LoadConfig::default();
        // Where each setting of the profile is written, for those that do not go together.
        let mut written: Vec<(Setting, Span)> = Vec::new();
        for (key, value) in entries(table) {
            let name = key.get_ref().as_ref();
            if let Some(setting) = Setting::of_key(name) {
                written.push((setting, super::loader::span(key)));
            }
            let what = format!("`{name}`");
            if !self.of_its_type(name, value) {
                continue;
            }
            match name {
                "users" | "iterations" | "max_users" => {
                    let Some(text) = self.scalar(value, &what) else {
                        continue;
                    };
                    match parse_users(&text.text) {
                        Ok(n) => match name {
                            "users" => load.settings.users = Some(n),
                            "iterations" => load.settings.iterations = Some(n),
                            _ => load.settings.max_users = Some(n),
                        },
                        Err(message) => {
                            self.error(format!("{what} {message}"), text.span, "not a count");
                        }
                    }
                }
                "rate" | "max_new_users" => {
                    let text = match value.get_ref() {
                        // `rate = 2.5`: per second, as `"2.5/s"`.
                        DeValue::Float(_) => Some(ConfigString {
                            text: self.written(span(value)).to_string(),
                            span: span(value),
                        }),
                        _ => self.scalar(value, &what),
                    };
                    let Some(text) = text else {
                        continue;
                    };
                    match parse_rate(&text.text) {
                        Ok(rate) if name == "rate" => load.settings.rate = Some(rate),
                        Ok(rate) => load.settings.max_new_users = Some(rate),
                        Err(message) => {
                            self.error(message, text.span, "not a rate");
                        }
                    }
                }
                "duration" => load.settings.duration = self.duration(value, &what),
                "graceful_stop" => load.settings.graceful_stop = self.duration(value, &what),
                "think" => {
                    if let Some(text) = self.string(value, &what) {
                        match parse_think(&text.text) {
                            Ok(think) => load.settings.think = Some(think),
                            Err(message) => {
                                self.error(message, text.span, "not a pause");
                            }
                        }
                    }
                }
                "stages" => {
                    for stage in self.strings(value, &what).unwrap_or_default() {
                        match parse_stages(&stage.text) {
                            Ok(stages) => load.settings.stages.extend(stages),
                            Err(message) => {
                                self.error(message, stage.span, "not a stage");
                            }
                        }
                    }
                }
                "tokens" => {
                    if let Some(name) = self.string(value, &what) {
                        self.check_declared_name(&name.text, name.span, "capture");
                        load.tokens = Some(name);
                    }
                }
                "thresholds" => {
                    for threshold in self.strings(value, &what).unwrap_or_default() {
                        match Threshold::parse(&threshold.text) {
                            Ok(_) => load.thresholds.push(threshold),
                            Err(message) => {
                                self.error(message, threshold.span, "not a threshold");
                            }
                        }
                    }
                }
                _ => self.unknown_key(
                    key,
                    &LOAD_KEYS,
                    Place {
                        noun: "load setting",
                        label: "not a setting of [load]",
                        known: "[load] takes",
                    },
                ),
            }
        }
        self.conflicting_keys(&written);
        load
    }

    /// Whether `value` is of a type key `name` takes (a number of users may be written as an
    /// integer or a string, a rate as a float too, the others as strings or arrays of them);
    /// if not, an error that says what it takes. Unknown keys pass, for their own error.
    fn of_its_type(&mut self, name: &str, value: &Value<'_>) -> bool {
        let Some((expected, label)) = expects(name) else {
            return true;
        };
        let fits = match (name, value.get_ref()) {
            ("stages" | "thresholds", DeValue::Array(_)) => {
                return self.items_of_their_type(name, value);
            }
            ("stages" | "thresholds", _) => false,
            (_, DeValue::String(_)) => true,
            (
                "users" | "iterations" | "max_users" | "rate" | "max_new_users",
                DeValue::Integer(_),
            ) => true,
            ("rate" | "max_new_users", DeValue::Float(_)) => true,
            _ => false,
        };
        if !fits {
            self.error(
                format!(
                    "`{name}` must be {expected}, not {}",
                    a_type(value.get_ref())
                ),
                span(value),
                label,
            );
        }
        fits
    }

    /// Whether every item of the array `stages` or `thresholds` is a string; if not, an error
    /// at the first that is not.
    fn items_of_their_type(&mut self, name: &str, value: &Value<'_>) -> bool {
        let DeValue::Array(items) = value.get_ref() else {
            return false;
        };
        let item = if name == "stages" {
            "a stage, like \"1m:500\""
        } else {
            "a threshold, like \"p99 gap < 100ms\""
        };
        let Some(wrong) = items
            .iter()
            .find(|item| !matches!(item.get_ref(), DeValue::String(_)))
        else {
            return true;
        };
        self.error(
            format!(
                "each item of `{name}` must be {item}, not {}",
                a_type(wrong.get_ref())
            ),
            span(wrong),
            "expected a string",
        );
        false
    }

    /// Keys of `[load]` that do not go together: the error is at the one written later.
    fn conflicting_keys(&mut self, written: &[(Setting, Span)]) {
        let at = |wanted: Setting| {
            written
                .iter()
                .find(|(setting, _)| *setting == wanted)
                .map(|(_, span)| *span)
        };
        let mut errors: Vec<(Span, String, String)> = Vec::new();
        for (a, b, why) in CONFLICTS {
            let (Some(a_at), Some(b_at)) = (at(a), at(b)) else {
                continue;
            };
            let ((earlier, _), (later, later_at)) = if a_at.start < b_at.start {
                ((a, a_at), (b, b_at))
            } else {
                ((b, b_at), (a, a_at))
            };
            errors.push((
                later_at,
                format!(
                    "`{}` cannot go with `{}` in [load]: {why}",
                    later.key(),
                    earlier.key()
                ),
                format!("conflicts with `{}`", earlier.key()),
            ));
        }
        errors.sort_by_key(|(span, ..)| span.start);
        for (span, message, label) in errors {
            self.error(message, span, &label);
        }
    }
}

/// What key `name` of `[load]` takes, in words and as a label, for a value of another type;
/// `None` for a key that is not one.
fn expects(name: &str) -> Option<(&'static str, &'static str)> {
    Some(match name {
        "users" => (
            "a whole number of users, like 40",
            "expected a number of users",
        ),
        "iterations" => (
            "a whole number of iterations, like 1000",
            "expected a number of iterations",
        ),
        "max_users" => (
            "a whole number of iterations at once, like 10000",
            "expected a number of iterations",
        ),
        "rate" => ("a rate, like \"20/s\" or \"300/m\"", "expected a rate"),
        "max_new_users" => ("a rate of new users, like \"100/s\"", "expected a rate"),
        "duration" => ("a duration, like \"15s\" or \"5m\"", "expected a duration"),
        "graceful_stop" => ("a duration, like \"30s\"", "expected a duration"),
        "think" => ("a pause, like \"1s\" or \"500ms..2s\"", "expected a pause"),
        "stages" => (
            "an array of stages, like [\"1m:500\", \"5m:500\"]",
            "expected an array of stages",
        ),
        "thresholds" => (
            "an array of thresholds, like [\"errors < 1%\", \"p99 gap < 100ms\"]",
            "expected an array of thresholds",
        ),
        "tokens" => (
            "the name of a capture, like \"token\"",
            "expected a capture's name",
        ),
        _ => return None,
    })
}
