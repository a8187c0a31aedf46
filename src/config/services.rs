//! The `[[services]]` of `streamspec.toml`: each service's settings, checked one by one.

use std::path::Path;
use std::time::Duration;

use toml::de::{DeTable, DeValue};

use super::loader::{Loader, Place, Value, a_type, entries, span};
use super::{ConfigString, ServiceConfig};
use crate::source::Span;

const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(30);

pub(super) const SERVICE_KEYS: [&str; 7] = [
    "name",
    "ports",
    "command",
    "cwd",
    "env",
    "ready",
    "start_timeout",
];

/// A port as declared, for the checks across services.
pub(super) struct PortDecl {
    pub(super) name: String,
    pub(super) span: Span,
}

/// A service as read, with the spans the cross-checks need.
pub(super) struct ParsedService {
    pub(super) config: ServiceConfig,
    pub(super) name_span: Option<Span>,
    pub(super) ports: Vec<PortDecl>,
}

impl Loader {
    pub(super) fn services(&mut self, value: &Value<'_>, dir: &Path) -> Vec<ParsedService> {
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

    pub(super) fn service(&mut self, table: &DeTable<'_>, at: Span, dir: &Path) -> ParsedService {
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

    pub(super) fn command(&mut self, value: &Value<'_>, service: &mut ServiceConfig) {
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

    pub(super) fn env(&mut self, table: &DeTable<'_>) -> Vec<(String, ConfigString)> {
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
}

/// "service `demo`", or "this service" when it has no name yet.
pub(super) fn service_label(name: &str) -> String {
    if name.is_empty() {
        "this service".to_string()
    } else {
        format!("service `{name}`")
    }
}
