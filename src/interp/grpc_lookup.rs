//! How a gRPC step finds what it calls: where its schema comes from (the test's own `proto` or
//! `descriptor`, the config's, then reflection), the method in it, and how a failure to find
//! either reads.

use std::path::PathBuf;

use prost_reflect::MethodDescriptor;

use crate::ast::*;
use crate::config::GrpcSchemaConfig;
use crate::duration::format_duration;
use crate::interp::TestRun;
use crate::outcome::Failure;
use crate::transport::grpc::error::backticked;
use crate::transport::grpc::{
    GrpcChannel, GrpcError, SchemaCache, SchemaSource, split_method_name,
};

/// Where a call's schema comes from, in the order tried.
pub(super) fn schema_sources(
    resolved: &[(PathBuf, &GrpcOption)],
    config: &GrpcSchemaConfig,
) -> Vec<SchemaSource> {
    let protos: Vec<PathBuf> = resolved
        .iter()
        .filter(|(_, o)| matches!(o, GrpcOption::Proto(_)))
        .map(|(path, _)| path.clone())
        .collect();
    let imports: Vec<PathBuf> = resolved
        .iter()
        .filter(|(_, o)| matches!(o, GrpcOption::Import(_)))
        .map(|(path, _)| path.clone())
        .collect();
    let descriptor = resolved
        .iter()
        .find(|(_, o)| matches!(o, GrpcOption::Descriptor(_)))
        .map(|(path, _)| path.clone());
    // The test's own schema is the only one it uses.
    if !protos.is_empty() {
        return vec![SchemaSource::Files {
            protos,
            import_paths: imports,
        }];
    }
    if let Some(path) = descriptor {
        return vec![SchemaSource::DescriptorSet(path)];
    }
    let mut sources: Vec<SchemaSource> = config
        .descriptor_sets
        .iter()
        .cloned()
        .map(SchemaSource::DescriptorSet)
        .collect();
    if !config.protos.is_empty() {
        sources.push(SchemaSource::Files {
            protos: config.protos.clone(),
            import_paths: config.import_paths.clone(),
        });
    }
    sources.push(SchemaSource::Reflection);
    sources
}

impl TestRun<'_> {
    /// The method in the first schema that has its service; the reflection error says most
    /// when no schema does.
    pub(super) async fn find_method(
        &self,
        sources: &[SchemaSource],
        channel: &GrpcChannel,
        call: &GrpcCall,
        cache: &SchemaCache,
    ) -> Result<MethodDescriptor, Failure> {
        let service = split_method_name(&call.method.value)
            .map_err(|error| self.grpc_failure(error, call, ""))?
            .0;
        let mut first_miss: Option<GrpcError> = None;
        for source in sources {
            let schema = match cache.get(source, channel, self.deadline, service).await {
                Ok(schema) => schema,
                // A config schema is tried before reflection; a server without reflection is
                // then best described by what the files lacked.
                Err(GrpcError::NoReflection { .. }) if first_miss.is_some() => break,
                Err(error) => {
                    return Err(self.grpc_failure(error, call, "finding this call's schema"));
                }
            };
            match schema.method(&call.method.value).await {
                Ok(method) => return Ok(method),
                Err(error @ GrpcError::UnknownService { .. })
                    if !matches!(source, SchemaSource::Reflection) =>
                {
                    first_miss.get_or_insert(error);
                }
                Err(error) => {
                    return Err(self.grpc_failure(error, call, "finding this call's schema"));
                }
            }
        }
        Err(self.grpc_failure(
            first_miss.unwrap_or(GrpcError::BadMethodName {
                name: call.method.value.clone(),
            }),
            call,
            "",
        ))
    }

    /// A failure to start a call, at the part of the step it is about.
    pub(super) fn grpc_failure(&self, error: GrpcError, call: &GrpcCall, doing: &str) -> Failure {
        match &error {
            GrpcError::UnknownService {
                service,
                suggestion,
                known,
            } => {
                let failure = Failure::error(
                    format!("unknown service `{service}`"),
                    call.method.span,
                    "not in the server's schema",
                );
                match suggestion {
                    Some(suggestion) => failure.help_note(format!("did you mean `{suggestion}`?")),
                    None if known.is_empty() => failure.note("the schema has no services"),
                    None => failure.note(format!("the schema has {}", backticked(known))),
                }
            }
            GrpcError::UnknownMethod {
                service,
                method,
                suggestion,
                known,
            } => {
                let failure = Failure::error(
                    format!("no method `{method}` in `{service}`"),
                    call.method.span,
                    "not a method of this service",
                );
                let failure = match suggestion {
                    Some(suggestion) => failure.help_note(format!("did you mean `{suggestion}`?")),
                    None => failure,
                };
                if known.is_empty() {
                    failure.note("the service has no methods")
                } else {
                    failure.note(format!("its methods: {}", backticked(known)))
                }
            }
            GrpcError::BadMethodName { .. } => {
                Failure::error(error.to_string(), call.method.span, "this method")
            }
            GrpcError::NoReflection { .. }
            | GrpcError::Reflection { .. }
            | GrpcError::Schema { .. } => {
                let failure = Failure::error(error.to_string(), call.method.span, doing);
                if matches!(error, GrpcError::NoReflection { .. }) {
                    failure.help_note(
                        "write `proto \"file.proto\"` (with `import \"dir\"` for its imports) or `descriptor \"set.binpb\"` after the `grpc` line, or set them for every spec in streamspec.toml's [grpc] section",
                    )
                } else {
                    failure
                }
            }
            GrpcError::Deadline { .. } => Failure::error(
                format!(
                    "the test timed out after {}: {error}",
                    format_duration(self.timeout)
                ),
                call.target.span,
                doing,
            ),
            _ => Failure::error(error.to_string(), call.target.span, doing),
        }
    }
}
