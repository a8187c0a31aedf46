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
//! timeout = "30s"          # of the tests that set none; `--timeout` overrides it
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
//! # Readiness: at most one of http (a GET answered 2xx or 3xx, or with a `status` given as
//! # `status = 204`, `status = "2xx"` or a list of those) or tcp (a connect succeeds). Without
//! # `ready`, a service counts as ready once it has started.
//! ready = { http = "http://127.0.0.1:{{demo_port}}/health" }
//! # ready = { http = "http://127.0.0.1:{{demo_port}}/", status = [200, 404] }
//! # ready = { tcp = "127.0.0.1:{{demo_port}}" }
//! start_timeout = "20s"    # default 30s
//!
//! # The gRPC schema for servers without reflection, for every spec under this directory
//! # (paths relative to this file). Methods not found here are looked up by reflection.
//! [grpc]
//! protos = ["protos/test.proto"]        # compiled at run time
//! import_paths = ["protos"]             # where their imports are found (default: this directory)
//! descriptor_sets = ["api.binpb"]       # compiled descriptor sets (`protoc -o`)
//!
//! # What `run --update` writes in place of values that change on every run and that it does
//! # not recognise itself: a JSONPath (into JSON items, SSE data, bodies, gRPC messages) or an SSE
//! # field (`id:`, `event:`, `data:`), and the matcher to write there.
//! [update]
//! redact = { "$.usage.total_tokens" = "integer", "id:" = '/^\d+$/' }
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
//! - `ready.http` must be a plain `http://` URL: the probe only asks how the server answers.
//! - Durations are written as in [`crate::duration`]: `500ms`, `20s`, `1.5s`, `2m`; they must be
//!   more than zero.
//!
//! Loading reports every problem it finds, each pointing at the TOML with a caret, rather than
//! stopping at the first.

mod load;
mod loader;
mod names;
mod readiness;
mod services;
#[cfg(test)]
mod tests;
mod update;

use std::ops::Range;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use toml::de::DeTable;

use crate::diagnostic::Diagnostic;
use crate::source::{SourceFile, Span};
use loader::Loader;
pub use readiness::ReadyStatus;

pub const CONFIG_FILE_NAME: &str = "streamspec.toml";

/// The placeholder that stands for the path of the running streamspec binary.
pub const STREAMSPEC_VAR: &str = "streamspec";

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
    pub update: UpdateConfig,
    pub load: LoadConfig,
}

/// `[load]`: the default settings and thresholds of `streamspec load`.
#[derive(Debug, Clone, Default)]
pub struct LoadConfig {
    pub settings: crate::load::settings::LoadSettings,
    /// Each checked already; kept with where it is written, for the run's messages.
    pub thresholds: Vec<ConfigString>,
    /// `tokens = "NAME"`: the capture that counts each iteration's output tokens.
    pub tokens: Option<ConfigString>,
}

/// `[update]`: how `run --update` writes what it observed.
#[derive(Debug, Clone, Default)]
pub struct UpdateConfig {
    /// `redact`: the matcher written in place of the value at each place.
    pub redactions: crate::update::redactions::Redactions,
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
    /// A GET of `url` answered with one of `status` (by default any 2xx or 3xx).
    Http {
        url: ConfigString,
        status: ReadyStatus,
    },
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
