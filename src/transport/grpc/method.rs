//! Finds the method a spec names (`stock.StockService/GetQuote`) in a schema, with a "did you
//! mean" for a misspelt service or method, and tells which of the four kinds of call it is.

use std::fmt;

use prost_reflect::{DescriptorPool, MethodDescriptor};

use crate::diagnostic::did_you_mean;

use super::error::GrpcError;

/// The four kinds of gRPC call, by which sides stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodKind {
    Unary,
    ServerStreaming,
    ClientStreaming,
    Bidi,
}

impl MethodKind {
    pub fn of(method: &MethodDescriptor) -> MethodKind {
        match (method.is_client_streaming(), method.is_server_streaming()) {
            (false, false) => MethodKind::Unary,
            (false, true) => MethodKind::ServerStreaming,
            (true, false) => MethodKind::ClientStreaming,
            (true, true) => MethodKind::Bidi,
        }
    }

    /// Whether the client may send more than one message.
    pub fn client_streams(self) -> bool {
        matches!(self, MethodKind::ClientStreaming | MethodKind::Bidi)
    }

    /// Whether the server may answer with more than one message.
    pub fn server_streams(self) -> bool {
        matches!(self, MethodKind::ServerStreaming | MethodKind::Bidi)
    }
}

impl fmt::Display for MethodKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MethodKind::Unary => "unary",
            MethodKind::ServerStreaming => "server streaming",
            MethodKind::ClientStreaming => "client streaming",
            MethodKind::Bidi => "bidirectional streaming",
        })
    }
}

/// The method `name` names: `package.Service/Method` (also with a leading `/`, as the HTTP/2
/// path has it, or `package.Service.Method`, as grpcurl accepts).
pub fn resolve_method(pool: &DescriptorPool, name: &str) -> Result<MethodDescriptor, GrpcError> {
    let services: Vec<ServiceNames> = pool
        .services()
        .map(|service| ServiceNames {
            full_name: service.full_name().to_string(),
            methods: service.methods().map(|m| m.name().to_string()).collect(),
        })
        .collect();
    let (service, method) = locate(&services, name)?;
    pool.get_service_by_name(&services[service].full_name)
        .and_then(|found| found.methods().nth(method))
        .ok_or_else(|| GrpcError::BadMethodName {
            name: name.to_string(),
        })
}

/// A service's full name and its methods' names.
pub(crate) struct ServiceNames {
    pub full_name: String,
    pub methods: Vec<String>,
}

/// Where the method `name` names is among `services`: the service's position and the method's
/// among its methods; else what is close (see [`resolve_method`] for the forms a name takes).
pub(crate) fn locate(services: &[ServiceNames], name: &str) -> Result<(usize, usize), GrpcError> {
    let (service_name, method_name) = split_method_name(name)?;
    let Some(service) = services
        .iter()
        .position(|service| service.full_name == service_name)
    else {
        let known = services.iter().map(|s| s.full_name.clone()).collect();
        return Err(unknown_service(service_name, known));
    };
    let known = &services[service].methods;
    if let Some(method) = known.iter().position(|m| m == method_name) {
        return Ok((service, method));
    }
    let suggestion =
        did_you_mean(method_name, known.iter().map(String::as_str)).map(str::to_string);
    Err(GrpcError::UnknownMethod {
        service: service_name.to_string(),
        method: method_name.to_string(),
        suggestion,
        known: known.clone(),
    })
}

/// The service and method a name gives (see [`resolve_method`] for the forms it takes).
pub fn split_method_name(name: &str) -> Result<(&str, &str), GrpcError> {
    let bad = || GrpcError::BadMethodName {
        name: name.to_string(),
    };
    let trimmed = name.strip_prefix('/').unwrap_or(name);
    let (service_name, method_name) = trimmed
        .rsplit_once('/')
        .or_else(|| trimmed.rsplit_once('.'))
        .ok_or_else(bad)?;
    if service_name.is_empty() || method_name.is_empty() || method_name.contains('.') {
        return Err(bad());
    }
    Ok((service_name, method_name))
}

/// `service` is not among the `known` ones: the closest of them, if any is close.
pub fn unknown_service(service: &str, known: Vec<String>) -> GrpcError {
    // `StockService` for `stock.StockService`: the package was left out.
    let by_suffix = known
        .iter()
        .find(|full| full.rsplit('.').next() == Some(service))
        .cloned();
    let suggestion = by_suffix
        .or_else(|| did_you_mean(service, known.iter().map(String::as_str)).map(str::to_string));
    GrpcError::UnknownService {
        service: service.to_string(),
        suggestion,
        known,
    }
}
