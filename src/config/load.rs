//! The `[load]` section of `streamspec.toml`: the default profile and thresholds of
//! `streamspec load` for the specs under it (see `crate::load::settings`). Each value is checked
//! here, so `streamspec check` points at a bad one.

use toml::de::DeTable;

use super::LoadConfig;
use super::loader::{Loader, Place, entries};
use crate::load::settings::{parse_rate, parse_stages, parse_think, parse_users};
use crate::load::thresholds::Threshold;

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
        for (key, value) in entries(table) {
            let name = key.get_ref().as_ref();
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
        load
    }
}
