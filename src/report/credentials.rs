//! Variables a spec sends as credentials — in an `Authorization`, `Proxy-Authorization` or
//! `Cookie` header, or one whose name says it carries a key, token, secret or password
//! (`x-api-key`, `x-auth-token`…), as a request header, a WebSocket's or a gRPC call's metadata —
//! are secrets without being declared: a token passed with a plain `--var` or set in `[vars]`
//! would otherwise be printed wherever the server echoes it, in every report and CI log.

use std::collections::BTreeSet;

use crate::ast::{GrpcOption, HeaderStep, Spec, StepKind, for_each_step};

/// Values shorter than this are not masked: a variable of a few characters (`1`, `on`) would
/// mask them throughout every report, and a credential is never that short.
const SHORTEST: usize = 6;

/// Whether a header (or gRPC metadata) of this name carries a credential: one of the standard
/// ones, or a name with a word (between `-`, `_` or `.`) that says so. Whole words only:
/// `x-monkey`, `x-tokenizer` or `x-keycloak-realm` carry none, and masking what they send
/// would mask ordinary text in every diff.
fn is_credential(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(
        name.as_str(),
        "authorization" | "proxy-authorization" | "cookie"
    ) || name.split(['-', '_', '.']).any(|word| {
        matches!(
            word,
            "key"
                | "apikey"
                | "token"
                | "secret"
                | "password"
                | "passwd"
                | "credential"
                | "credentials"
        )
    })
}

/// The names of the variables the specs' credential headers use, in order.
pub fn variables(specs: &[Spec]) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for test in specs.iter().flat_map(|spec| &spec.tests) {
        for_each_step(&test.steps, &mut |steps, index| {
            let header: Option<&HeaderStep> = match &steps[index].kind {
                StepKind::Header(header) => Some(header),
                StepKind::GrpcOption(GrpcOption::Metadata(header)) => Some(header),
                _ => None,
            };
            if let Some(header) = header
                && is_credential(&header.name.value)
            {
                names.extend(
                    crate::interpolate::placeholders(&header.value.text).map(|(name, _)| name),
                );
            }
        });
    }
    names
}

/// The values of the file-level `let`s the specs send as credentials (a token written in the
/// spec itself is no secret from its readers, but it is from the readers of a CI log).
pub fn let_values(specs: &[Spec], names: &BTreeSet<String>) -> Vec<String> {
    specs
        .iter()
        .flat_map(|spec| &spec.lets)
        .filter(|binding| names.contains(&binding.name.value))
        .map(|binding| binding.value.value.clone())
        .filter(|value| worth_masking(value))
        .collect()
}

/// Whether a credential variable's value is long enough to be masked.
pub fn worth_masking(value: &str) -> bool {
    value.chars().count() >= SHORTEST
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_headers_are_known_by_their_names() {
        for name in [
            "Authorization",
            "proxy-authorization",
            "Cookie",
            "X-API-Key",
            "x-auth-token",
            "OpenAI-Organization-Key",
            "x-client-secret",
        ] {
            assert!(is_credential(name), "{name}");
        }
        for name in [
            "accept",
            "content-type",
            "x-request-id",
            "last-event-id",
            "x-monkey",
            "x-keycloak-realm",
            "x-tokenizer",
        ] {
            assert!(!is_credential(name), "{name}");
        }
    }
}
