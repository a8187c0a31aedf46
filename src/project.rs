//! Loading what a run needs: the spec files under the given paths, grouped by the
//! `streamspec.toml` that applies to them, parsed and statically checked.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::ast::Spec;
use crate::check::check;
use crate::config::{self, ProjectConfig};
use crate::diagnostic::{Diagnostic, Severity};
use crate::discover::discover;
use crate::exit_code;
use crate::source::SourceFile;

/// Environment variables with this prefix set spec variables: `STREAMSPEC_VAR_base=…` is `{{base}}`.
pub const ENV_VAR_PREFIX: &str = "STREAMSPEC_VAR_";

/// Specs that share a config (and so its services and variables).
pub struct Group {
    pub config: Option<ProjectConfig>,
    pub specs: Vec<Spec>,
}

pub struct Project {
    pub groups: Vec<Group>,
    pub file_count: usize,
    /// Problems that do not stop a run, to show before it.
    pub warnings: Vec<Diagnostic>,
}

impl Project {
    /// The spec files and configs the project was read from: no report may be written over one.
    pub fn source_paths(&self) -> Vec<&std::path::Path> {
        self.groups
            .iter()
            .flat_map(|group| {
                let config = group
                    .config
                    .as_ref()
                    .map(|config| config.file.path.as_path());
                config
                    .into_iter()
                    .chain(group.specs.iter().map(|spec| spec.file.path.as_path()))
            })
            .collect()
    }

    pub fn test_count(&self) -> usize {
        self.groups
            .iter()
            .flat_map(|g| &g.specs)
            .map(|s| s.tests.len())
            .sum()
    }
}

/// Why a project could not be loaded, with the exit code it means.
pub struct LoadError {
    pub diagnostics: Vec<Diagnostic>,
    pub exit_code: i32,
}

impl LoadError {
    fn new(diagnostics: Vec<Diagnostic>, exit_code: i32) -> Self {
        LoadError {
            diagnostics,
            exit_code,
        }
    }
}

/// `STREAMSPEC_VAR_*` variables from the environment.
pub fn env_vars() -> HashMap<String, String> {
    std::env::vars()
        .filter_map(|(key, value)| {
            key.strip_prefix(ENV_VAR_PREFIX)
                .filter(|name| !name.is_empty())
                .map(|name| (name.to_string(), value))
        })
        .collect()
}

/// Finds, parses and checks every spec under `paths`; reports every problem found.
pub fn load(paths: &[PathBuf], cli_vars: &[(String, String)]) -> Result<Project, LoadError> {
    let default = [PathBuf::from(".")];
    let paths = if paths.is_empty() {
        &default[..]
    } else {
        paths
    };
    let files = discover(paths).map_err(|message| {
        LoadError::new(vec![Diagnostic::error(message)], exit_code::USAGE_ERROR)
    })?;
    if files.is_empty() {
        let shown: Vec<String> = paths.iter().map(|p| format!("`{}`", p.display())).collect();
        return Err(LoadError::new(
            vec![Diagnostic::error(format!(
                "no .stream files found in {}",
                shown.join(", ")
            ))],
            exit_code::NO_TESTS,
        ));
    }
    // Group files by the nearest config above them.
    let mut grouped: BTreeMap<Option<PathBuf>, Vec<PathBuf>> = BTreeMap::new();
    for file in &files {
        let dir = file.parent().unwrap_or(Path::new("."));
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        grouped
            .entry(config::find(dir))
            .or_default()
            .push(file.clone());
    }
    let mut diagnostics = Vec::new();
    let mut groups = Vec::new();
    let env = env_vars();
    for (config_path, files) in grouped {
        let config = match &config_path {
            Some(path) => match config::load(path) {
                Ok(config) => Some(config),
                Err(errors) => {
                    diagnostics.extend(errors);
                    continue;
                }
            },
            None => None,
        };
        let mut known: HashSet<String> = env.keys().cloned().collect();
        known.extend(cli_vars.iter().map(|(name, _)| name.clone()));
        if let Some(config) = &config {
            known.extend(config.var_names().map(str::to_string));
        }
        let mut specs = Vec::new();
        for file in files {
            let source = match SourceFile::read(&file) {
                Ok(source) => source,
                Err(error) => {
                    diagnostics.push(Diagnostic::error(format!(
                        "cannot read `{}`: {error}",
                        file.display()
                    )));
                    continue;
                }
            };
            match crate::syntax::parse(&source) {
                Ok(spec) => {
                    diagnostics.extend(check(&spec, &known));
                    specs.push(spec);
                }
                Err(errors) => diagnostics.extend(errors),
            }
        }
        groups.push(Group { config, specs });
    }
    if diagnostics.iter().any(|d| d.severity == Severity::Error) {
        return Err(LoadError::new(diagnostics, exit_code::USAGE_ERROR));
    }
    Ok(Project {
        groups,
        file_count: files.len(),
        warnings: diagnostics,
    })
}
