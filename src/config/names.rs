//! The checks of `streamspec.toml` across sections: duplicate services and ports, ports that
//! shadow variables, and every `{{placeholder}}` against the names it can see.

use std::collections::HashMap;

use super::loader::{Loader, VarDecl};
use super::services::ParsedService;
use super::{ConfigString, Readiness, STREAMSPEC_VAR};
use crate::diagnostic::did_you_mean;
use crate::interpolate::{self, InterpolateError};
use crate::source::Span;

impl Loader {
    /// Checks across sections: duplicate services and ports, ports that shadow variables, and
    /// every placeholder against the names it can see.
    pub(super) fn check_names(&mut self, vars: &[VarDecl], services: &[ParsedService]) {
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
            if let Some(Readiness::Http { url: text, .. } | Readiness::Tcp(text)) = &config.ready {
                strings.push(text);
            }
            for text in strings {
                self.check_placeholders(text, &visible, &[]);
            }
        }
    }

    pub(super) fn check_placeholders(
        &mut self,
        text: &ConfigString,
        visible: &[&str],
        later: &[&str],
    ) {
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
