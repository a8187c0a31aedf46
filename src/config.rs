//! The spec-directory config (`streamspec.toml`): variables and the services to start for a run.
//!
//! A directory of specs may hold a `streamspec.toml`; a run uses the nearest one at or above the
//! specs ([`find`]). It sets variables for every spec and starts services before the run and
//! stops them after (see [`crate::services`]):
//!
//! ```toml
//! # Variables whose values are secret: reports show `***` in their place. Top-level keys
//! # come before the first [section]. The values usually come from the environment
//! # (STREAMSPEC_VAR_api_key), but any variable or port can be named.
//! secrets = ["api_key"]
//!
//! # Variables every spec under this directory can use as {{name}}.
//! [vars]
//! base = "http://127.0.0.1:{{demo_port}}"
//!
//! # Defaults for every test under this directory.
//! [defaults]
//! timeout = "30s"          # per-test timeout
//!
//! [[services]]
//! name = "demo"
//! # A free loopback port is chosen at run time for each name in `ports`, and given to the
//! # command and to the specs as {{name}}.
//! ports = ["demo_port"]
//! # An argument list, never a shell string. {{streamspec}} is the running streamspec binary.
//! command = ["{{streamspec}}", "demo", "--listen", "127.0.0.1:{{demo_port}}"]
//! # Optional: working directory (relative to this file; default: this file's directory),
//! # extra environment.
//! # cwd = "."
//! # env = { RUST_LOG = "info" }
//! # Readiness: at most one of http (any HTTP response with status < 500 counts) or tcp
//! # (a connect succeeds). Without `ready`, a service counts as ready once it has started.
//! ready = { http = "http://127.0.0.1:{{demo_port}}/health" }
//! # ready = { tcp = "127.0.0.1:{{demo_port}}" }
//! start_timeout = "20s"    # default 30s
//!
//! # The gRPC schema for servers without reflection, for every spec under this directory
//! # (paths relative to this file). Methods not found here are looked up by reflection.
//! [grpc]
//! protos = ["protos/test.proto"]        # compiled at run time
//! import_paths = ["protos"]             # where their imports are found (default: this directory)
//! descriptor_sets = ["api.binpb"]       # compiled descriptor sets (`protoc -o`)
//! ```
//!
//! Details:
//! - Every section is optional; an empty file is a valid config.
//! - Names of variables and ports are placeholder names: `[A-Za-z_][A-Za-z0-9_.-]*`. `streamspec`
//!   is reserved for the binary's path. A port may not share its name with a variable or with
//!   another port, in any service.
//! - Values in `[vars]` and `env` are strings; integers and booleans are taken as their text
//!   (`port = 8080` means `"8080"`).
//! - Placeholders are checked when the file is loaded, so a typo is reported before anything
//!   starts: a `[vars]` value may use the ports, `streamspec` and the variables above it; the
//!   strings of a service (`command`, `env` values, `ready`) may use every variable and port.
//!   All ports are chosen before any service starts, so a service may use another's port.
//! - `ready.http` must be a plain `http://` URL: the probe only asks whether something answers.
//! - Durations are written as in [`crate::duration`]: `500ms`, `20s`, `1.5s`, `2m`; they must be
//!   more than zero.
//!
//! Loading reports every problem it finds, each pointing at the TOML with a caret, rather than
//! stopping at the first.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeString, DeTable, DeValue};

use crate::diagnostic::{Diagnostic, did_you_mean};
use crate::duration::parse_duration;
use crate::interpolate::{self, InterpolateError};
use crate::source::{SourceFile, Span};

pub const CONFIG_FILE_NAME: &str = "streamspec.toml";

/// The placeholder that stands for the path of the running streamspec binary.
pub const STREAMSPEC_VAR: &str = "streamspec";

const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(30);

const SECTIONS: [&str; 5] = ["vars", "defaults", "services", "grpc", "secrets"];
const GRPC_KEYS: [&str; 3] = ["protos", "import_paths", "descriptor_sets"];
const DEFAULTS_KEYS: [&str; 1] = ["timeout"];
const SERVICE_KEYS: [&str; 7] = [
    "name",
    "ports",
    "command",
    "cwd",
    "env",
    "ready",
    "start_timeout",
];
const READY_KEYS: [&str; 2] = ["http", "tcp"];

/// A loaded `streamspec.toml`.
#[derive(Debug, Clone)]
pub struct ProjectConfig {
    pub file: Arc<SourceFile>,
    /// The directory the file is in (`.` for a bare file name): the default working directory of
    /// services and the base of relative `cwd`s.
    pub dir: PathBuf,
    /// In file order, which is the order they are interpolated in.
    pub vars: Vec<(String, ConfigString)>,
    pub defaults: Defaults,
    /// In file order, which is the order they are started in.
    pub services: Vec<ServiceConfig>,
    pub grpc: GrpcSchemaConfig,
    /// Names of the variables whose values reports must never show (`secrets = [...]`).
    pub secrets: Vec<ConfigString>,
}

/// `[grpc]`: where gRPC schemas come from when a server has no reflection. Paths are resolved
/// against the config's directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GrpcSchemaConfig {
    pub protos: Vec<PathBuf>,
    pub import_paths: Vec<PathBuf>,
    pub descriptor_sets: Vec<PathBuf>,
}

impl GrpcSchemaConfig {
    pub fn is_empty(&self) -> bool {
        self.protos.is_empty() && self.descriptor_sets.is_empty()
    }
}

impl ProjectConfig {
    /// The names a run gives to specs: the variables, then every service's ports.
    pub fn var_names(&self) -> impl Iterator<Item = &str> {
        self.vars.iter().map(|(name, _)| name.as_str()).chain(
            self.services
                .iter()
                .flat_map(|service| service.ports.iter().map(String::as_str)),
        )
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Defaults {
    /// Per-test timeout, for tests that set none.
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone)]
pub struct ServiceConfig {
    pub name: String,
    /// Names of the ports to choose for it, each a variable for the command and the specs.
    pub ports: Vec<String>,
    /// Program and arguments, never empty.
    pub command: Vec<ConfigString>,
    /// The working directory, already joined to the config file's directory.
    pub cwd: Option<PathBuf>,
    pub env: Vec<(String, ConfigString)>,
    pub ready: Option<Readiness>,
    pub start_timeout: Duration,
    /// The service's table: its `[[services]]` header, or the inline table.
    pub span: Span,
}

/// How to tell that a service is ready.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    /// Any HTTP response with a status below 500 from this URL.
    Http(ConfigString),
    /// A TCP connection to this `host:port` succeeds.
    Tcp(ConfigString),
}

/// A string from the config with `{{name}}` placeholders and the span it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigString {
    pub text: String,
    /// The value as written in the file, quotes included.
    pub span: Span,
}

impl ConfigString {
    /// The span in `file` of the bytes `range` of [`ConfigString::text`], for a caret under one
    /// placeholder. When escapes make the written string differ from its text, the offsets do not
    /// map, and the whole string is the best place to point at.
    pub fn span_of(&self, file: &SourceFile, range: Range<usize>) -> Span {
        let written = file.slice(self.span);
        match written.find(self.text.as_str()) {
            Some(offset) if !self.text.is_empty() && range.end <= self.text.len() => {
                let start = self.span.start + offset;
                Span::new(start + range.start, start + range.end)
            }
            _ => self.span,
        }
    }
}

/// Walks up from `start` (a directory, or a file's directory) to the filesystem root and returns
/// the nearest streamspec.toml.
pub fn find(start: &Path) -> Option<PathBuf> {
    let dir = if start.is_file() {
        start.parent().unwrap_or(Path::new(""))
    } else {
        start
    };
    // A relative path is walked as given first, so that the path in messages stays as short as
    // the user's (`specs/streamspec.toml`); above it the walk goes on from the absolute current
    // directory. `..` cannot be walked lexically (`a/..` is not `a`'s child), so such paths are
    // resolved first.
    let has_parent_dir = dir.components().any(|c| c == Component::ParentDir);
    if dir.is_relative() && !has_parent_dir {
        for ancestor in dir.ancestors() {
            let candidate = ancestor.join(CONFIG_FILE_NAME);
            if is_config(&candidate) {
                return Some(candidate);
            }
        }
        let cwd = std::env::current_dir().ok()?;
        return cwd
            .ancestors()
            .skip(1)
            .map(|ancestor| ancestor.join(CONFIG_FILE_NAME))
            .find(|candidate| is_config(candidate));
    }
    let dir = if has_parent_dir {
        dir.canonicalize().ok()?
    } else {
        dir.to_path_buf()
    };
    dir.ancestors()
        .map(|ancestor| ancestor.join(CONFIG_FILE_NAME))
        .find(|candidate| is_config(candidate))
}

/// Whether a config is there: anything by that name, not only a regular file, so that one that
/// cannot be read (a named pipe, a directory) is refused with a reason rather than skipped.
fn is_config(candidate: &Path) -> bool {
    candidate.exists()
}

/// Reads and checks a config file.
pub fn load(path: &Path) -> Result<ProjectConfig, Vec<Diagnostic>> {
    let file = SourceFile::read(path).map_err(|error| {
        vec![Diagnostic::error(format!(
            "cannot read `{}`: {error}",
            path.display()
        ))]
    })?;
    parse(file)
}

/// Checks config text already read; `file.path` is used for messages and as the base of paths.
pub fn parse(file: Arc<SourceFile>) -> Result<ProjectConfig, Vec<Diagnostic>> {
    let dir = match file.path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let (root, syntax_errors) = DeTable::parse_recoverable(&file.text);
    if !syntax_errors.is_empty() {
        // After a syntax error the recovered tree may lack whole tables, and checking it would
        // only add confusing follow-on errors.
        return Err(syntax_errors
            .iter()
            .map(|error| syntax_diagnostic(&file, error))
            .collect());
    }
    let mut loader = Loader {
        file: Arc::clone(&file),
        errors: Vec::new(),
    };
    let config = loader.root(root.get_ref(), dir);
    if loader.errors.is_empty() {
        Ok(config)
    } else {
        // In file order, whatever order the checks found them in.
        let mut errors = loader.errors;
        errors.sort_by_key(|d| d.label.as_ref().map(|label| label.span.start));
        Err(errors)
    }
}

fn syntax_diagnostic(file: &Arc<SourceFile>, error: &toml::de::Error) -> Diagnostic {
    let diagnostic = Diagnostic::error(format!("invalid TOML: {}", error.message().trim()));
    match error.span() {
        Some(range) => diagnostic.at(file, Span::new(range.start, range.end), ""),
        None => diagnostic,
    }
}

type Value<'i> = Spanned<DeValue<'i>>;
type Key<'i> = Spanned<DeString<'i>>;

fn span(spanned: &Spanned<impl Sized>) -> Span {
    let range = spanned.span();
    Span::new(range.start, range.end)
}

/// A table's entries in file order (the parsed table is sorted by key).
fn entries<'a, 'i>(table: &'a DeTable<'i>) -> Vec<(&'a Key<'i>, &'a Value<'i>)> {
    let mut entries: Vec<_> = table.iter().collect();
    entries.sort_by_key(|(key, _)| key.span().start);
    entries
}

fn a_type(value: &DeValue<'_>) -> &'static str {
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

fn is_name(text: &str) -> bool {
    let mut chars = text.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Words for an unknown key's message, by where it is.
struct Place {
    /// "unknown {noun} `word`"
    noun: &'static str,
    /// Under the caret.
    label: &'static str,
    /// Before the list of known keys when none is close.
    known: &'static str,
}

/// A port as declared, for the checks across services.
struct PortDecl {
    name: String,
    span: Span,
}

/// A variable as declared.
struct VarDecl {
    name: String,
    key_span: Span,
    value: ConfigString,
}

/// A service as read, with the spans the cross-checks need.
struct ParsedService {
    config: ServiceConfig,
    name_span: Option<Span>,
    ports: Vec<PortDecl>,
}

/// Walks the parsed TOML, collecting every error instead of stopping at the first.
struct Loader {
    file: Arc<SourceFile>,
    errors: Vec<Diagnostic>,
}

impl Loader {
    fn error(&mut self, message: impl Into<String>, at: Span, label: &str) -> &mut Diagnostic {
        self.errors
            .push(Diagnostic::error(message).at(&self.file, at, label));
        let last = self.errors.len() - 1;
        &mut self.errors[last]
    }

    fn location(&self, span: Span) -> String {
        self.file.location(span.start)
    }

    fn root(&mut self, root: &DeTable<'_>, dir: PathBuf) -> ProjectConfig {
        let mut vars = Vec::new();
        let mut defaults = Defaults::default();
        let mut services = Vec::new();
        let mut grpc = GrpcSchemaConfig::default();
        let mut secrets = Vec::new();
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
        }
    }

    fn grpc(&mut self, table: &DeTable<'_>, dir: &Path) -> GrpcSchemaConfig {
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
    fn unknown_key(&mut self, key: &Key<'_>, known: &[&str], place: Place) {
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

    fn table<'a, 'i>(&mut self, value: &'a Value<'i>, what: &str) -> Option<&'a DeTable<'i>> {
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
    fn scalar(&mut self, value: &Value<'_>, what: &str) -> Option<ConfigString> {
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

    fn string(&mut self, value: &Value<'_>, what: &str) -> Option<ConfigString> {
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

    fn strings(&mut self, value: &Value<'_>, what: &str) -> Option<Vec<ConfigString>> {
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

    fn duration(&mut self, value: &Value<'_>, what: &str) -> Option<Duration> {
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

    fn vars(&mut self, table: &DeTable<'_>) -> Vec<VarDecl> {
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
    fn check_declared_name(&mut self, name: &str, at: Span, what: &str) {
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

    fn defaults(&mut self, table: &DeTable<'_>) -> Defaults {
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

    fn services(&mut self, value: &Value<'_>, dir: &Path) -> Vec<ParsedService> {
        let DeValue::Array(items) = value.get_ref() else {
            let found = a_type(value.get_ref());
            self.error(
                format!("`services` must be an array of tables, not {found}"),
                span(value),
                "expected an array of tables",
            )
            .notes
            .push("help: start each service with a `[[services]]` line".to_string());
            return Vec::new();
        };
        items
            .iter()
            .filter_map(|item| {
                let table = self.table(item, "each service")?;
                Some(self.service(table, span(item), dir))
            })
            .collect()
    }

    fn service(&mut self, table: &DeTable<'_>, at: Span, dir: &Path) -> ParsedService {
        let mut service = ParsedService {
            config: ServiceConfig {
                name: String::new(),
                ports: Vec::new(),
                command: Vec::new(),
                cwd: None,
                env: Vec::new(),
                ready: None,
                start_timeout: DEFAULT_START_TIMEOUT,
                span: at,
            },
            name_span: None,
            ports: Vec::new(),
        };
        let mut command_seen = false;
        for (key, value) in entries(table) {
            match key.get_ref().as_ref() {
                "name" => {
                    if let Some(name) = self.string(value, "`name`") {
                        if name.text.trim().is_empty() {
                            self.error("a service's `name` cannot be empty", name.span, "empty");
                        }
                        service.name_span = Some(name.span);
                        service.config.name = name.text;
                    }
                }
                "ports" => {
                    if let Some(ports) = self.strings(value, "`ports`") {
                        for port in ports {
                            self.check_declared_name(&port.text, port.span, "port");
                            service.config.ports.push(port.text.clone());
                            service.ports.push(PortDecl {
                                name: port.text,
                                span: port.span,
                            });
                        }
                    }
                }
                "command" => {
                    command_seen = true;
                    self.command(value, &mut service.config);
                }
                "cwd" => {
                    if let Some(cwd) = self.string(value, "`cwd`") {
                        service.config.cwd = Some(dir.join(cwd.text));
                    }
                }
                "env" => {
                    if let Some(env) = self.table(value, "`env`") {
                        service.config.env = self.env(env);
                    }
                }
                "ready" => service.config.ready = self.ready(value),
                "start_timeout" => {
                    if let Some(d) = self.duration(value, "`start_timeout`") {
                        service.config.start_timeout = d;
                    }
                }
                _ => self.unknown_key(
                    key,
                    &SERVICE_KEYS,
                    Place {
                        noun: "service setting",
                        label: "not a service setting",
                        known: "a service takes",
                    },
                ),
            }
        }
        if service.name_span.is_none() && !table.contains_key("name") {
            self.error("this service has no `name`", at, "needs `name = \"…\"`");
        }
        if !command_seen {
            let who = service_label(&service.config.name);
            self.error(format!("{who} has no `command`"), at, "needs a `command`")
                .notes
                .push(
                    "help: give the program and its arguments, like `command = [\"./server\", \"--port\", \"{{port}}\"]`"
                        .to_string(),
                );
        }
        service
    }

    fn command(&mut self, value: &Value<'_>, service: &mut ServiceConfig) {
        if let DeValue::String(text) = value.get_ref() {
            // The most likely mistake: a shell-style string. Show the list it probably means.
            let suggestion = text
                .split_whitespace()
                .map(|word| format!("{word:?}"))
                .collect::<Vec<_>>()
                .join(", ");
            self.error(
                "`command` must be a list of arguments, not a string",
                span(value),
                "expected an array of strings",
            )
            .notes
            .push(format!(
                "help: streamspec runs the program directly, without a shell: write `command = [{suggestion}]`"
            ));
            return;
        }
        let Some(command) = self.strings(value, "`command`") else {
            return;
        };
        if command.is_empty() {
            let who = service_label(&service.name);
            self.error(
                format!("{who} has an empty `command`"),
                span(value),
                "expected the program and its arguments",
            );
        } else if command[0].text.is_empty() {
            self.error(
                "the program in `command` is an empty string",
                command[0].span,
                "expected a program",
            );
        }
        service.command = command;
    }

    fn env(&mut self, table: &DeTable<'_>) -> Vec<(String, ConfigString)> {
        let mut env = Vec::new();
        for (key, value) in entries(table) {
            let name = key.get_ref().as_ref();
            if name.is_empty() || name.contains(['=', '\0']) {
                self.error(
                    format!("`{name}` cannot be the name of an environment variable"),
                    span(key),
                    "not a variable name",
                );
            }
            if let Some(value) = self.scalar(value, &format!("environment variable `{name}`")) {
                if value.text.contains('\0') {
                    self.error(
                        "an environment variable cannot hold a NUL character",
                        value.span,
                        "",
                    );
                }
                env.push((name.to_string(), value));
            }
        }
        env
    }

    fn ready(&mut self, value: &Value<'_>) -> Option<Readiness> {
        let table = self.table(value, "`ready`")?;
        let mut found = Vec::new();
        for (key, value) in entries(table) {
            match key.get_ref().as_ref() {
                word @ ("http" | "tcp") => {
                    if let Some(text) = self.string(value, &format!("`ready.{word}`")) {
                        found.push((word == "http", text));
                    }
                }
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
        if found.len() > 1 {
            self.error(
                "`ready` takes `http` or `tcp`, not both",
                span(value),
                "both given here",
            );
            return None;
        }
        match found.pop() {
            None => {
                if table.is_empty() {
                    self.error(
                        "`ready` is empty",
                        span(value),
                        "expected `http` or `tcp`",
                    )
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
                Some(Readiness::Http(url))
            }
            Some((false, address)) => Some(Readiness::Tcp(address)),
        }
    }

    /// Checks across sections: duplicate services and ports, ports that shadow variables, and
    /// every placeholder against the names it can see.
    fn check_names(&mut self, vars: &[VarDecl], services: &[ParsedService]) {
        let mut service_names: HashMap<&str, Span> = HashMap::new();
        for service in services {
            let (Some(name_span), name) = (service.name_span, service.config.name.as_str()) else {
                continue;
            };
            if let Some(&first) = service_names.get(name) {
                let first = self.location(first);
                self.error(
                    format!("two services are named `{name}`"),
                    name_span,
                    "used again here",
                )
                .notes
                .push(format!("note: the first `{name}` is at {first}"));
            } else {
                service_names.insert(name, name_span);
            }
        }

        let var_spans: HashMap<&str, Span> = vars
            .iter()
            .map(|var| (var.name.as_str(), var.key_span))
            .collect();
        let mut port_spans: HashMap<&str, Span> = HashMap::new();
        for port in services.iter().flat_map(|service| &service.ports) {
            let name = port.name.as_str();
            if let Some(&first) = port_spans.get(name) {
                let first = self.location(first);
                self.error(
                    format!("port `{name}` is declared twice"),
                    port.span,
                    "declared again here",
                )
                .notes
                .push(format!(
                    "note: the first `{name}` is at {first}; each port needs a name of its own"
                ));
            } else if let Some(&var) = var_spans.get(name) {
                let var = self.location(var);
                self.error(
                    format!("port `{name}` has the same name as a variable"),
                    port.span,
                    "also a variable",
                )
                .notes
                .push(format!(
                    "note: `{name}` is set in [vars] at {var}; rename one of them"
                ));
            } else {
                port_spans.insert(name, port.span);
            }
        }

        let ports: Vec<&str> = port_spans.keys().copied().collect();
        for (index, var) in vars.iter().enumerate() {
            let earlier = vars[..index].iter().map(|v| v.name.as_str());
            let visible: Vec<&str> = earlier
                .chain(ports.iter().copied())
                .chain([STREAMSPEC_VAR])
                .collect();
            let later: Vec<&str> = vars[index..].iter().map(|v| v.name.as_str()).collect();
            self.check_placeholders(&var.value, &visible, &later);
        }

        let visible: Vec<&str> = vars
            .iter()
            .map(|v| v.name.as_str())
            .chain(ports.iter().copied())
            .chain([STREAMSPEC_VAR])
            .collect();
        for service in services {
            let config = &service.config;
            let mut strings: Vec<&ConfigString> = config.command.iter().collect();
            strings.extend(config.env.iter().map(|(_, value)| value));
            if let Some(Readiness::Http(text) | Readiness::Tcp(text)) = &config.ready {
                strings.push(text);
            }
            for text in strings {
                self.check_placeholders(text, &visible, &[]);
            }
        }
    }

    fn check_placeholders(&mut self, text: &ConfigString, visible: &[&str], later: &[&str]) {
        for error in interpolate::check(&text.text, |name| visible.contains(&name)) {
            let at = text.span_of(&self.file, error.range());
            match &error {
                InterpolateError::Unknown { name, .. } => {
                    let help = if later.contains(&name.as_str()) {
                        format!(
                            "`{name}` is set further down in [vars]; a variable can use only those above it"
                        )
                    } else if let Some(suggestion) = did_you_mean(name, visible.iter().copied()) {
                        format!("did you mean `{suggestion}`?")
                    } else {
                        let mut names = visible.to_vec();
                        names.sort_unstable();
                        format!(
                            "the names known here are {}",
                            names
                                .iter()
                                .map(|n| format!("`{n}`"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        )
                    };
                    self.error(error.to_string(), at, "not a variable or port")
                        .notes
                        .push(format!("help: {help}"));
                }
                InterpolateError::Malformed { .. } => {
                    self.error(error.to_string(), at, "not a placeholder");
                }
            }
        }
    }
}

/// "service `demo`", or "this service" when it has no name yet.
fn service_label(name: &str) -> String {
    if name.is_empty() {
        "this service".to_string()
    } else {
        format!("service `{name}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::style::Palette;

    fn parse_text(text: &str) -> Result<ProjectConfig, Vec<Diagnostic>> {
        parse(SourceFile::new("specs/streamspec.toml", text))
    }

    /// Every diagnostic for `text`, rendered plain, one after the other.
    fn errors(text: &str) -> String {
        match parse_text(text) {
            Ok(_) => panic!("expected errors for:\n{text}"),
            Err(errors) => errors
                .iter()
                .map(|d| d.render(&Palette::plain()))
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    const EXAMPLE: &str = r#"
# Variables every spec under this directory can use as {{name}}.
[vars]
base = "http://127.0.0.1:{{demo_port}}"
api = "{{ base }}/api"
retries = 3

[defaults]
timeout = "30s"

[[services]]
name = "demo"
ports = ["demo_port", "admin_port"]
command = ["{{streamspec}}", "demo", "--listen", "127.0.0.1:{{demo_port}}"]
cwd = "server"
env = { RUST_LOG = "info", API = "{{api}}" }
ready = { http = "http://127.0.0.1:{{demo_port}}/health" }
start_timeout = "1.5s"

[[services]]
name = "db"
command = ["./db", "--port", "{{db_port}}"]
ports = ["db_port"]
ready = { tcp = "127.0.0.1:{{db_port}}" }
"#;

    #[test]
    fn reads_a_valid_file() {
        let config = parse_text(EXAMPLE).expect("valid");
        assert_eq!(config.dir, Path::new("specs"));
        let vars: Vec<_> = config
            .vars
            .iter()
            .map(|(name, value)| (name.as_str(), value.text.as_str()))
            .collect();
        // File order, not the parser's sorted order: later vars may use earlier ones.
        assert_eq!(
            vars,
            [
                ("base", "http://127.0.0.1:{{demo_port}}"),
                ("api", "{{ base }}/api"),
                ("retries", "3"),
            ]
        );
        assert_eq!(
            config.file.slice(config.vars[0].1.span),
            "\"http://127.0.0.1:{{demo_port}}\""
        );
        assert_eq!(config.defaults.timeout, Some(Duration::from_secs(30)));
        assert_eq!(config.services.len(), 2);

        let demo = &config.services[0];
        assert_eq!(demo.name, "demo");
        assert_eq!(demo.ports, ["demo_port", "admin_port"]);
        let command: Vec<_> = demo.command.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(
            command,
            [
                "{{streamspec}}",
                "demo",
                "--listen",
                "127.0.0.1:{{demo_port}}"
            ]
        );
        assert_eq!(demo.cwd.as_deref(), Some(Path::new("specs/server")));
        let env: Vec<_> = demo
            .env
            .iter()
            .map(|(name, value)| (name.as_str(), value.text.as_str()))
            .collect();
        assert_eq!(env, [("RUST_LOG", "info"), ("API", "{{api}}")]);
        assert!(
            matches!(&demo.ready, Some(Readiness::Http(url)) if url.text == "http://127.0.0.1:{{demo_port}}/health")
        );
        assert_eq!(demo.start_timeout, Duration::from_millis(1500));
        assert_eq!(config.file.slice(demo.span), "[[services]]");

        let db = &config.services[1];
        assert_eq!(db.name, "db");
        assert_eq!(db.cwd, None);
        assert!(
            matches!(&db.ready, Some(Readiness::Tcp(addr)) if addr.text == "127.0.0.1:{{db_port}}")
        );
        assert_eq!(db.start_timeout, Duration::from_secs(30));

        let names: Vec<_> = config.var_names().collect();
        assert_eq!(
            names,
            [
                "base",
                "api",
                "retries",
                "demo_port",
                "admin_port",
                "db_port"
            ]
        );
    }

    #[test]
    fn secrets_name_variables() {
        let config = parse_text("secrets = [\"token\", \"api.key\"]\n[vars]\ntoken = \"x\"\n")
            .expect("valid");
        let names: Vec<_> = config.secrets.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(names, ["token", "api.key"]);
        assert_eq!(config.file.slice(config.secrets[0].span), "\"token\"");
        assert_eq!(
            errors("secrets = \"token\"\n"),
            "error: `secrets` must be an array of strings, not a string\n --> specs/streamspec.toml:1:11\n  |\n1 | secrets = \"token\"\n  |           ^^^^^^^ expected an array of strings\n"
        );
        assert!(errors("secrets = [\"a b\"]\n").contains("error: `a b` cannot be a variable name"),);
    }

    #[test]
    fn an_empty_file_is_a_valid_config() {
        let config = parse(SourceFile::new("streamspec.toml", "")).expect("valid");
        assert_eq!(config.dir, Path::new("."));
        assert!(config.vars.is_empty() && config.services.is_empty());
        assert_eq!(config.defaults, Defaults::default());
    }

    #[test]
    fn inline_service_tables_point_at_the_table() {
        let config =
            parse_text("services = [{ name = \"a\", command = [\"a\"] }]\n").expect("valid");
        assert_eq!(
            config.file.slice(config.services[0].span),
            "{ name = \"a\", command = [\"a\"] }"
        );
    }

    #[test]
    fn misspelt_section_suggests_the_right_one() {
        assert_eq!(
            errors("[servics]\nx = 1\n"),
            "error: unknown section `servics`\n --> specs/streamspec.toml:1:2\n  |\n1 | [servics]\n  |  ^^^^^^^ not a section of streamspec.toml\n  |\n  = help: did you mean `services`?\n"
        );
        assert!(
            errors("[bananas]\n").contains("help: the sections are `vars`, `defaults`, `services`")
        );
    }

    #[test]
    fn misspelt_service_key_suggests_the_right_one() {
        let text = errors("[[services]]\nname = \"demo\"\ncomand = [\"x\"]\n");
        // Both problems are reported: the misspelt key, and so the missing command.
        assert!(
            text.contains("error: service `demo` has no `command`\n --> specs/streamspec.toml:1:1\n  |\n1 | [[services]]\n  | ^^^^^^^^^^^^ needs a `command`\n"),
            "{text}"
        );
        assert!(
            text.contains("error: unknown service setting `comand`\n --> specs/streamspec.toml:3:1\n  |\n3 | comand = [\"x\"]\n  | ^^^^^^ not a service setting\n  |\n  = help: did you mean `command`?\n"),
            "{text}"
        );
    }

    #[test]
    fn bad_durations_are_reported() {
        assert_eq!(
            errors(
                "[[services]]\nname = \"demo\"\ncommand = [\"x\"]\nstart_timeout = \"20 sec\"\n"
            ),
            "error: `20 sec` is not a duration: write a number and a unit (ms, s, m or h) with no space, like `500ms`, `20s`, `1.5s` or `2m`\n --> specs/streamspec.toml:4:17\n  |\n4 | start_timeout = \"20 sec\"\n  |                 ^^^^^^^^ expected a duration\n"
        );
        let text = errors("[defaults]\ntimeout = \"0s\"\ntimout = \"1s\"\n");
        assert!(
            text.contains(
                "error: `timeout` must be more than zero\n --> specs/streamspec.toml:2:11\n"
            ),
            "{text}"
        );
        assert!(text.contains("error: unknown default `timout`"), "{text}");
        assert!(text.contains("help: did you mean `timeout`?"), "{text}");
        assert!(
            errors("[defaults]\ntimeout = 30\n")
                .contains("error: `timeout` must be a string, not an integer")
        );
    }

    #[test]
    fn readiness_takes_one_probe() {
        assert_eq!(
            errors(
                "[[services]]\nname = \"demo\"\ncommand = [\"x\"]\nready = { http = \"http://a\", tcp = \"a:1\" }\n"
            ),
            "error: `ready` takes `http` or `tcp`, not both\n --> specs/streamspec.toml:4:9\n  |\n4 | ready = { http = \"http://a\", tcp = \"a:1\" }\n  |         ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ both given here\n"
        );
        assert!(
            errors("[[services]]\nname = \"a\"\ncommand = [\"x\"]\nready = {}\n")
                .contains("error: `ready` is empty")
        );
        let text = errors(
            "[[services]]\nname = \"a\"\ncommand = [\"x\"]\nready = { htp = \"http://a\" }\n",
        );
        assert!(
            text.contains("error: unknown readiness probe `htp`"),
            "{text}"
        );
        assert!(text.contains("help: did you mean `http`?"), "{text}");
        let text = errors(
            "[[services]]\nname = \"a\"\ncommand = [\"x\"]\nready = { http = \"https://a\" }\n",
        );
        assert!(
            text.contains("error: the readiness probe speaks plain HTTP, not HTTPS"),
            "{text}"
        );
    }

    #[test]
    fn commands_must_be_non_empty_argument_lists() {
        assert_eq!(
            errors("[[services]]\nname = \"demo\"\ncommand = []\n"),
            "error: service `demo` has an empty `command`\n --> specs/streamspec.toml:3:11\n  |\n3 | command = []\n  |           ^^ expected the program and its arguments\n"
        );
        let text = errors("[[services]]\nname = \"demo\"\ncommand = \"./server --port 3\"\n");
        assert!(
            text.contains("error: `command` must be a list of arguments, not a string"),
            "{text}"
        );
        assert!(
            text.contains("help: streamspec runs the program directly, without a shell: write `command = [\"./server\", \"--port\", \"3\"]`"),
            "{text}"
        );
        assert!(
            errors("[[services]]\nname = \"demo\"\ncommand = [\"\"]\n")
                .contains("the program in `command` is an empty string")
        );
    }

    #[test]
    fn duplicate_service_names_are_reported() {
        assert_eq!(
            errors(
                "[[services]]\nname = \"demo\"\ncommand = [\"a\"]\n[[services]]\nname = \"demo\"\ncommand = [\"b\"]\n"
            ),
            "error: two services are named `demo`\n --> specs/streamspec.toml:5:8\n  |\n5 | name = \"demo\"\n  |        ^^^^^^ used again here\n  |\n  = note: the first `demo` is at specs/streamspec.toml:2:8\n"
        );
    }

    #[test]
    fn duplicate_ports_are_reported_within_and_across_services() {
        assert_eq!(
            errors(
                "[[services]]\nname = \"a\"\nports = [\"p\", \"q\"]\ncommand = [\"a\"]\n[[services]]\nname = \"b\"\nports = [\"p\"]\ncommand = [\"b\"]\n"
            ),
            "error: port `p` is declared twice\n --> specs/streamspec.toml:7:10\n  |\n7 | ports = [\"p\"]\n  |          ^^^ declared again here\n  |\n  = note: the first `p` is at specs/streamspec.toml:3:10; each port needs a name of its own\n"
        );
        assert!(
            errors("[[services]]\nname = \"a\"\nports = [\"p\", \"p\"]\ncommand = [\"a\"]\n")
                .contains("port `p` is declared twice")
        );
    }

    #[test]
    fn ports_may_not_shadow_variables() {
        assert_eq!(
            errors(
                "[vars]\nport = \"1\"\n[[services]]\nname = \"a\"\nports = [\"port\"]\ncommand = [\"a\"]\n"
            ),
            "error: port `port` has the same name as a variable\n --> specs/streamspec.toml:5:10\n  |\n5 | ports = [\"port\"]\n  |          ^^^^^^ also a variable\n  |\n  = note: `port` is set in [vars] at specs/streamspec.toml:2:1; rename one of them\n"
        );
    }

    #[test]
    fn names_must_be_placeholder_names_and_not_reserved() {
        let text = errors(
            "[vars]\nstreamspec = \"x\"\n\"a b\" = \"y\"\n[[services]]\nname = \"a\"\nports = [\"9port\"]\ncommand = [\"a\"]\n",
        );
        assert!(
            text.contains("error: `streamspec` cannot be a variable name"),
            "{text}"
        );
        assert!(
            text.contains("error: `a b` cannot be a variable name"),
            "{text}"
        );
        assert!(
            text.contains("error: `9port` cannot be a port name"),
            "{text}"
        );
    }

    #[test]
    fn placeholders_are_checked_where_they_are_written() {
        let text = errors(
            "[vars]\nbase = \"http://{{host}}:{{demo_prot}}\"\nhost = \"x\"\n[[services]]\nname = \"a\"\nports = [\"demo_port\"]\ncommand = [\"a\", \"{{ nope }}\", \"{{bad name}}\"]\n",
        );
        assert_eq!(
            text,
            "error: unknown variable `host`\n --> specs/streamspec.toml:2:16\n  |\n2 | base = \"http://{{host}}:{{demo_prot}}\"\n  |                ^^^^^^^^ not a variable or port\n  |\n  = help: `host` is set further down in [vars]; a variable can use only those above it\n\
             \n\
             error: unknown variable `demo_prot`\n --> specs/streamspec.toml:2:25\n  |\n2 | base = \"http://{{host}}:{{demo_prot}}\"\n  |                         ^^^^^^^^^^^^^ not a variable or port\n  |\n  = help: did you mean `demo_port`?\n\
             \n\
             error: unknown variable `nope`\n --> specs/streamspec.toml:7:18\n  |\n7 | command = [\"a\", \"{{ nope }}\", \"{{bad name}}\"]\n  |                  ^^^^^^^^^^ not a variable or port\n  |\n  = help: the names known here are `base`, `demo_port`, `host`, `streamspec`\n\
             \n\
             error: `{{bad name}}` is not a placeholder: write `{{name}}`, with a name of letters, digits, `_`, `.` and `-`\n --> specs/streamspec.toml:7:32\n  |\n7 | command = [\"a\", \"{{ nope }}\", \"{{bad name}}\"]\n  |                                ^^^^^^^^^^^^ not a placeholder\n"
        );
        // A service may use a port of a later service: all ports are chosen before any starts.
        parse_text("[[services]]\nname = \"a\"\ncommand = [\"a\", \"{{b_port}}\"]\nenv = { B = \"{{b_port}}\" }\n[[services]]\nname = \"b\"\nports = [\"b_port\"]\ncommand = [\"b\"]\n").expect("valid");
    }

    #[test]
    fn missing_names_and_wrong_types_are_all_reported() {
        let text = errors("[[services]]\nports = [1]\n");
        assert!(text.contains("error: this service has no `name`"), "{text}");
        assert!(
            text.contains("error: this service has no `command`"),
            "{text}"
        );
        assert!(text.contains("error: each item of `ports` must be a string, not an integer\n --> specs/streamspec.toml:2:10"), "{text}");
        assert!(
            errors("[services]\nname = \"a\"\n")
                .contains("`services` must be an array of tables, not a table")
        );
        assert!(errors("vars = 1\n").contains("[vars] must be a table, not an integer"));
    }

    #[test]
    fn syntax_errors_point_into_the_file() {
        assert_eq!(
            errors("[vars\nx = 1\n"),
            "error: invalid TOML: unclosed table, expected `]`\n --> specs/streamspec.toml:1:6\n  |\n1 | [vars\n  |      ^\n"
        );
    }

    #[test]
    fn spans_of_placeholders_survive_only_plain_strings() {
        let file = SourceFile::new("x.toml", "a = 'x{{p}}'\nb = \"\\u0041{{p}}\"\n");
        let plain = ConfigString {
            text: "x{{p}}".into(),
            span: Span::new(4, 12),
        };
        assert_eq!(file.slice(plain.span_of(&file, 1..6)), "{{p}}");
        let escaped = ConfigString {
            text: "A{{p}}".into(),
            span: Span::new(17, 30),
        };
        assert_eq!(escaped.span_of(&file, 1..6), escaped.span);
    }

    #[test]
    fn finds_the_nearest_config_walking_up() {
        let root = std::env::temp_dir().join(format!("streamspec-find-{}", std::process::id()));
        let nested = root.join("specs/deep/er");
        std::fs::create_dir_all(&nested).expect("temp dir");
        std::fs::write(root.join(CONFIG_FILE_NAME), "").expect("write");
        std::fs::write(nested.join("a.stream"), "").expect("write");
        assert_eq!(find(&nested), Some(root.join(CONFIG_FILE_NAME)));
        assert_eq!(
            find(&nested.join("a.stream")),
            Some(root.join(CONFIG_FILE_NAME))
        );
        std::fs::write(root.join("specs").join(CONFIG_FILE_NAME), "").expect("write");
        assert_eq!(
            find(&nested),
            Some(root.join("specs").join(CONFIG_FILE_NAME))
        );
        assert_eq!(
            find(&nested.join("../..")),
            Some(
                root.join("specs")
                    .join(CONFIG_FILE_NAME)
                    .canonicalize()
                    .expect("exists")
            )
        );
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn load_reports_an_unreadable_file() {
        let errors = load(Path::new("/nonexistent/streamspec.toml")).unwrap_err();
        assert!(
            errors[0]
                .message
                .starts_with("cannot read `/nonexistent/streamspec.toml`: ")
        );
    }
}
