//! The `[update]` section of `streamspec.toml`: the redactions `run --update` applies when it
//! writes observed values (see `crate::update::redactions`).

use toml::de::DeTable;

use super::UpdateConfig;
use super::loader::{Loader, Place, entries, span};
use crate::update::redactions::{Redaction, Redactions, RuleError};

const UPDATE_KEYS: [&str; 1] = ["redact"];

impl Loader {
    pub(super) fn update(&mut self, table: &DeTable<'_>) -> UpdateConfig {
        let mut update = UpdateConfig::default();
        for (key, value) in entries(table) {
            match key.get_ref().as_ref() {
                "redact" => {
                    if let Some(rules) = self.table(value, "`redact`") {
                        update.redactions = self.redactions(rules);
                    }
                }
                _ => self.unknown_key(
                    key,
                    &UPDATE_KEYS,
                    Place {
                        noun: "update setting",
                        label: "not a setting of [update]",
                        known: "[update] takes",
                    },
                ),
            }
        }
        update
    }

    /// `"$.path" = "matcher"` pairs, in file order; each bad one is reported where it is wrong.
    fn redactions(&mut self, table: &DeTable<'_>) -> Redactions {
        let mut rules = Vec::new();
        for (key, value) in entries(table) {
            let selector = key.get_ref().as_ref();
            let Some(matcher) = self.string(value, &format!("the redaction of `{selector}`"))
            else {
                continue;
            };
            match Redaction::parse(selector, &matcher.text) {
                Ok(rule) => rules.push(rule),
                Err((RuleError::Selector, message)) => {
                    self.error(message, span(key), "not a JSONPath or an SSE field");
                }
                Err((RuleError::Matcher, message)) => {
                    self.error(message, matcher.span, "not a matcher");
                }
            }
        }
        Redactions::new(rules)
    }
}
