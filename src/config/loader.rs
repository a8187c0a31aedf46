//! Reading `streamspec.toml` into a [`ProjectConfig`]: the walk over the parsed TOML, its
//! sections and the checks of single values, each error pointing at the TOML. Services and the
//! checks of names across sections are in `services` and `names`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

use super::{
    ConfigString, Defaults, GrpcSchemaConfig, LoadConfig, ProjectConfig, STREAMSPEC_VAR,
    UpdateConfig,
};
use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::duration::parse_duration;
use crate::source::{SourceFile, Span};

const SECTIONS: [&str; 7] = [
    "vars", "defaults", "services", "grpc", "secrets", "update", "load",
];
const GRPC_KEYS: [&str; 3] = ["protos", "import_paths", "descriptor_sets"];
const DEFAULTS_KEYS: [&str; 1] = ["timeout"];

pub(super) type Value<'i> = Spanned<DeValue<'i>>;
pub(super) type Key<'i> = Spanned<DeString<'i>>;

pub(super) fn span(spanned: &Spanned<impl Sized>) -> Span {
    let range = spanned.span();
    Span::new(range.start, range.end)
}

/// A table's entries in file order (the parsed table is sorted by key).
pub(super) fn entries<'a, 'i>(table: &'a DeTable<'i>) -> Vec<(&'a Key<'i>, &'a Value<'i>)> {
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start);
    entries
}

pub(super) fn a_type(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

pub(super) fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Words for an unknown key's message, by where it is.
pub(super) struct Place {
    /// "unknown {noun} `word`"
    pub(super) noun: &'static str,
    /// Under the caret.
    pub(super) label: &'static str,
    /// Before the list of known keys when none is close.
    pub(super) known: &'static str,
}

/// A variable as declared.
pub(super) struct VarDecl {
    pub(super) name: String,
    pub(super) key_span: Span,
    pub(super) value: ConfigString,
}

/// Walks the parsed TOML, collecting every error instead of stopping at the first.
pub(super) struct Loader {
    pub(super) file: Arc<SourceFile>,
    pub(super) errors: Vec<Diagnostic>,
}

impl Loader {
    pub(super) fn error(
        &mut self,
        message: impl Into<String>,
        at: Span,
        label: &str,
    ) -> &mut Diagnostic {
        self.errors
            .push(Diagnostic::error(message).at(&self.file, at, label));
        let last = self.errors.len() - 1;
        &mut self.errors[last]
    }

    /// The config's text at `span`, as written.
    pub(super) fn written(&self, span: Span) -> &str {
        self.file.slice(span)
    }

    pub(super) fn location(&self, span: Span) -> String {
        self.file.location(span.start)
    }

    pub(super) fn root(&mut self, root: &DeTable<'_>, dir: PathBuf) -> ProjectConfig {
        let mut vars = Vec::new();
        let mut defaults = Defaults::default();
        let mut services = Vec::new();
        let mut grpc = GrpcSchemaConfig::default();
        let mut secrets = Vec::new();
        let mut update = UpdateConfig::default();
        let mut load = LoadConfig::default();
        for (key, value) in entries(root) {
            match key.get_ref().as_ref() {
                "vars" => {
                    if let Some(table) = self.table(value, "[vars]") {
                        vars = self.vars(table);
                    }
                }
                "defaults" => {
                    if let Some(table) = self.table(value, "[defaults]") {
                        defaults = self.defaults(table);
                    }
                }
                "services" => services = self.services(value, &dir),
                "grpc" => {
                    if let Some(table) = self.table(value, "[grpc]") {
                        grpc = self.grpc(table, &dir);
                    }
                }
                "update" => {
                    if let Some(table) = self.table(value, "[update]") {
                        update = self.update(table);
                    }
                }
                "load" => {
                    if let Some(table) = self.table(value, "[load]") {
                        load = self.load(table);
                    }
                }
                "secrets" => {
                    if let Some(names) = self.strings(value, "`secrets`") {
                        for name in &names {
                            self.check_declared_name(&name.text, name.span, "variable");
                        }
                        secrets = names;
                    }
                }
                _ => self.unknown_key(
                    key,
                    &SECTIONS,
                    Place {
                        noun: "section",
                        label: "not a section of streamspec.toml",
                        known: "the sections are",
                    },
                ),
            }
        }
        self.check_names(&vars, &services);
        ProjectConfig {
            file: Arc::clone(&self.file),
            dir,
            vars: vars.into_iter().map(|var| (var.name, var.value)).collect(),
            defaults,
            services: services.into_iter().map(|s| s.config).collect(),
            grpc,
            secrets,
            update,
            load,
        }
    }

    pub(super) fn grpc(&mut self, table: &DeTable<'_>, dir: &Path) -> GrpcSchemaConfig {
        let mut grpc = GrpcSchemaConfig::default();
        for (key, value) in entries(table) {
            let name = key.get_ref().as_ref();
            let slot = match name {
                "protos" => &mut grpc.protos,
                "import_paths" => &mut grpc.import_paths,
                "descriptor_sets" => &mut grpc.descriptor_sets,
                _ => {
                    self.unknown_key(
                        key,
                        &GRPC_KEYS,
                        Place {
                            noun: "key",
                            label: "not a key of [grpc]",
                            known: "[grpc] takes",
                        },
                    );
                    continue;
                }
            };
            if let Some(paths) = self.strings(value, &format!("`{name}`")) {
                *slot = paths.iter().map(|path| dir.join(&path.text)).collect();
            }
        }
        grpc
    }

    /// An unknown key, with the closest known one or else the list of known ones.
    pub(super) fn unknown_key(&mut self, key: &Key<'_>, known: &[&str], place: Place) {
        let word = key.get_ref().as_ref();
        let known_list = known
            .iter()
            .map(|k| format!("`{k}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let help = match did_you_mean(word, known.iter().copied()) {
            Some(suggestion) => format!("did you mean `{suggestion}`?"),
            None => format!("{} {known_list}", place.known),
        };
        self.error(
            format!("unknown {} `{word}`", place.noun),
            span(key),
            place.label,
        )
        .notes
        .push(format!("help: {help}"));
    }

    pub(super) fn table<'a, 'i>(
        &mut self,
        value: &'a Value<'i>,
        what: &str,
    ) -> Option<&'a DeTable<'i>> {
        match value.get_ref() {
            DeValue::Table(table) => Some(table),
            other => {
                let found = a_type(other);
                self.error(
                    format!("{what} must be a table, not {found}"),
                    span(value),
                    "expected a table",
                );
                None
            }
        }
    }

    /// A string, or an integer or boolean taken as its text.
    pub(super) fn scalar(&mut self, value: &Value<'_>, what: &str) -> Option<ConfigString> {
        let text = match value.get_ref() {
            DeValue::String(text) => text.to_string(),
            DeValue::Integer(integer) => {
                match i128::from_str_radix(integer.as_str(), integer.radix()) {
                    Ok(number) => number.to_string(),
                    Err(_) => self.file.slice(span(value)).to_string(),
                }
            }
            DeValue::Boolean(yes) => yes.to_string(),
            other => {
                let found = a_type(other);
                self.error(
                    format!("{what} must be a string, not {found}"),
                    span(value),
                    "expected a string",
                );
                return None;
            }
        };
        Some(ConfigString {
            text,
            span: span(value),
        })
    }

    pub(super) fn string(&mut self, value: &Value<'_>, what: &str) -> Option<ConfigString> {
        match value.get_ref() {
            DeValue::String(text) => Some(ConfigString {
                text: text.to_string(),
                span: span(value),
            }),
            other => {
                let found = a_type(other);
                self.error(
                    format!("{what} must be a string, not {found}"),
                    span(value),
                    "expected a string",
                );
                None
            }
        }
    }

    pub(super) fn strings(&mut self, value: &Value<'_>, what: &str) -> Option<Vec<ConfigString>> {
        let DeValue::Array(items) = value.get_ref() else {
            let found = a_type(value.get_ref());
            self.error(
                format!("{what} must be an array of strings, not {found}"),
                span(value),
                "expected an array of strings",
            );
            return None;
        };
        let strings: Vec<_> = items
            .iter()
            .filter_map(|item| self.string(item, &format!("each item of {what}")))
            .collect();
        (strings.len() == items.len()).then_some(strings)
    }

    pub(super) fn duration(&mut self, value: &Value<'_>, what: &str) -> Option<Duration> {
        let text = self.string(value, what)?;
        match parse_duration(&text.text) {
            Ok(d) if d.is_zero() => {
                self.error(format!("{what} must be more than zero"), text.span, "zero");
                None
            }
            Ok(d) => Some(d),
            Err(message) => {
                self.error(message, text.span, "expected a duration");
                None
            }
        }
    }

    pub(super) fn vars(&mut self, table: &DeTable<'_>) -> Vec<VarDecl> {
        let mut vars = Vec::new();
        for (key, value) in entries(table) {
            let name = key.get_ref().as_ref();
            self.check_declared_name(name, span(key), "variable");
            if let Some(value) = self.scalar(value, &format!("variable `{name}`")) {
                vars.push(VarDecl {
                    name: name.to_string(),
                    key_span: span(key),
                    value,
                });
            }
        }
        vars
    }

    /// A variable or port name must be usable as a placeholder and not be the reserved one.
    pub(super) fn check_declared_name(&mut self, name: &str, at: Span, what: &str) {
        if name == STREAMSPEC_VAR {
            self.error(
                format!("`{STREAMSPEC_VAR}` cannot be a {what} name"),
                at,
                "reserved",
            )
            .notes
            .push(format!(
                "note: {{{{{STREAMSPEC_VAR}}}}} is always the path of the running streamspec binary"
            ));
        } else if !is_name(name) {
            self.error(
                format!("`{name}` cannot be a {what} name"),
                at,
                "not a name",
            )
            .notes
            .push(
                "help: a name starts with a letter or `_` and goes on with letters, digits, `_`, `.` and `-`"
                    .to_string(),
            );
        }
    }

    pub(super) fn defaults(&mut self, table: &DeTable<'_>) -> Defaults {
        let mut defaults = Defaults::default();
        for (key, value) in entries(table) {
            match key.get_ref().as_ref() {
                "timeout" => defaults.timeout = self.duration(value, "`timeout`"),
                _ => self.unknown_key(
                    key,
                    &DEFAULTS_KEYS,
                    Place {
                        noun: "default",
                        label: "not a default",
                        known: "[defaults] takes",
                    },
                ),
            }
        }
        defaults
    }
}
