//! How a gRPC call ended: its status code (by the name specs use, `INVALID_ARGUMENT`), message,
//! details and trailers, whether the server sent it or the client decided it (a deadline, a
//! cancel).

use std::fmt;

use bytes::Bytes;
use tonic::Code;
use tonic::metadata::MetadataMap;

/// The status a call ended with.
#[derive(Debug, Clone)]
pub struct CallStatus {
    pub code: Code,
    /// `grpc-message`, percent-decoded; empty when the server sent none.
    pub message: String,
    /// `grpc-status-details-bin`, decoded; empty when the server sent none.
    pub details: Bytes,
    /// The trailers without `grpc-status`, `grpc-message` and `grpc-status-details-bin`.
    /// For a trailers-only answer (an error before any message), its only header block.
    pub trailers: MetadataMap,
    /// The client ended the call itself (its deadline passed, or it was cancelled); nothing
    /// came from the server.
    pub local: bool,
}

impl CallStatus {
    pub fn ok(trailers: MetadataMap) -> CallStatus {
        CallStatus {
            code: Code::Ok,
            message: String::new(),
            details: Bytes::new(),
            trailers,
            local: false,
        }
    }

    /// A status the client decided on its own.
    pub fn local(code: Code, message: impl Into<String>) -> CallStatus {
        CallStatus {
            code,
            message: message.into(),
            details: Bytes::new(),
            trailers: MetadataMap::new(),
            local: true,
        }
    }

    /// A status the server sent (tonic has already split it from the trailers).
    pub fn from_server(status: &tonic::Status) -> CallStatus {
        CallStatus {
            code: status.code(),
            message: status.message().to_string(),
            details: status.details().to_vec().into(),
            trailers: status.metadata().clone(),
            local: false,
        }
    }

    pub fn is_ok(&self) -> bool {
        self.code == Code::Ok
    }

    /// The code's name as the gRPC spec writes it: `OK`, `INVALID_ARGUMENT`.
    pub fn code_name(&self) -> &'static str {
        code_name(self.code)
    }
}

impl fmt::Display for CallStatus {
    /// `INVALID_ARGUMENT: symbol must not be empty`, or just the name when there is no message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            f.write_str(self.code_name())
        } else {
            write!(f, "{}: {}", self.code_name(), self.message)
        }
    }
}

const CODES: [(Code, &str); 17] = [
    (Code::Ok, "OK"),
    (Code::Cancelled, "CANCELLED"),
    (Code::Unknown, "UNKNOWN"),
    (Code::InvalidArgument, "INVALID_ARGUMENT"),
    (Code::DeadlineExceeded, "DEADLINE_EXCEEDED"),
    (Code::NotFound, "NOT_FOUND"),
    (Code::AlreadyExists, "ALREADY_EXISTS"),
    (Code::PermissionDenied, "PERMISSION_DENIED"),
    (Code::ResourceExhausted, "RESOURCE_EXHAUSTED"),
    (Code::FailedPrecondition, "FAILED_PRECONDITION"),
    (Code::Aborted, "ABORTED"),
    (Code::OutOfRange, "OUT_OF_RANGE"),
    (Code::Unimplemented, "UNIMPLEMENTED"),
    (Code::Internal, "INTERNAL"),
    (Code::Unavailable, "UNAVAILABLE"),
    (Code::DataLoss, "DATA_LOSS"),
    (Code::Unauthenticated, "UNAUTHENTICATED"),
];

/// A code's name as the gRPC spec writes it.
pub fn code_name(code: Code) -> &'static str {
    CODES
        .iter()
        .find(|(known, _)| *known == code)
        .map_or("UNKNOWN", |(_, name)| name)
}

/// The code with this name (`NOT_FOUND`, any case) or number (`5`).
pub fn code_from_name(name: &str) -> Option<Code> {
    if let Ok(number) = name.parse::<i32>() {
        return CODES
            .iter()
            .find(|(code, _)| *code as i32 == number)
            .map(|(code, _)| *code);
    }
    CODES
        .iter()
        .find(|(_, known)| known.eq_ignore_ascii_case(name))
        .map(|(code, _)| *code)
}

/// Every code name, for "did you mean" and for listing.
pub fn code_names() -> impl Iterator<Item = &'static str> {
    CODES.iter().map(|(_, name)| *name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_names_round_trip() {
        for name in code_names() {
            let code = code_from_name(name).expect("every name parses");
            assert_eq!(code_name(code), name);
        }
        assert_eq!(code_from_name("not_found"), Some(Code::NotFound));
        assert_eq!(code_from_name("14"), Some(Code::Unavailable));
        assert_eq!(code_from_name("NOPE"), None);
        assert_eq!(code_from_name("99"), None);
    }
}
