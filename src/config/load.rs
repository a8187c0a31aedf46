//! The `[load]` section of `streamspec.toml`: the default profile and thresholds of
//! `streamspec load` for the specs under it (see `crate::load::settings`). Each value is checked
//! here, so `streamspec check` points at a bad one.

use toml::de::DeTable;

use super::LoadConfig;
use super::loader::{Loader, Place, entries};
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
                    let Some(text) = self.scalar(value, &what) else {
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
