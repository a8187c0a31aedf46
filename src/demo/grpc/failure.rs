//! `FailWith` (scenario 18): the status a request asks to fail with, by its code's name.

use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::{Code, Status};

use super::pb::FailRequest;

/// The trailer every requested failure carries, so a spec can tell it from a real one.
pub const REASON_KEY: &str = "x-demo-reason";
pub const REASON_VALUE: &str = "requested";

/// Every failing code, by its canonical name.
const CODES: &[(&str, Code)] = &[
    ("CANCELLED", Code::Cancelled),
    ("UNKNOWN", Code::Unknown),
    ("INVALID_ARGUMENT", Code::InvalidArgument),
    ("DEADLINE_EXCEEDED", Code::DeadlineExceeded),
    ("NOT_FOUND", Code::NotFound),
    ("ALREADY_EXISTS", Code::AlreadyExists),
    ("PERMISSION_DENIED", Code::PermissionDenied),
    ("RESOURCE_EXHAUSTED", Code::ResourceExhausted),
    ("FAILED_PRECONDITION", Code::FailedPrecondition),
    ("ABORTED", Code::Aborted),
    ("OUT_OF_RANGE", Code::OutOfRange),
    ("UNIMPLEMENTED", Code::Unimplemented),
    ("INTERNAL", Code::Internal),
    ("UNAVAILABLE", Code::Unavailable),
    ("DATA_LOSS", Code::DataLoss),
    ("UNAUTHENTICATED", Code::Unauthenticated),
];

/// The status `request` asks for: its code (by name, in any case) and message (or, when empty,
/// `failed as requested with CODE`), with the trailer `x-demo-reason: requested`. A name that
/// is not a failing code gives `INVALID_ARGUMENT` saying so, without that trailer.
pub fn requested(request: &FailRequest) -> Status {
    let name = request.code.trim();
    let Some(&(canonical, code)) = CODES
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(name))
    else {
        let expected = CODES
            .iter()
            .map(|(known, _)| *known)
            .collect::<Vec<_>>()
            .join(", ");
        let problem = if name.eq_ignore_ascii_case("OK") {
            "OK is not a failure".to_string()
        } else {
            format!("unknown status code {name:?}")
        };
        return Status::invalid_argument(format!("{problem}; FailWith takes one of {expected}"));
    };
    let message = if request.message.is_empty() {
        format!("failed as requested with {canonical}")
    } else {
        request.message.clone()
    };
    let mut metadata = MetadataMap::new();
    metadata.insert(REASON_KEY, MetadataValue::from_static(REASON_VALUE));
    Status::with_metadata(code, message, metadata)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(code: &str, message: &str) -> Status {
        requested(&FailRequest {
            code: code.to_string(),
            message: message.to_string(),
        })
    }

    #[test]
    fn every_failing_code_can_be_asked_for() {
        for (name, code) in CODES {
            let status = fail(name, "boom");
            assert_eq!(status.code(), *code);
            assert_eq!(status.message(), "boom");
            assert_eq!(
                status.metadata().get(REASON_KEY).map(|v| v.to_str().ok()),
                Some(Some(REASON_VALUE))
            );
        }
        assert_eq!(CODES.len(), 16, "every code but OK");
    }

    #[test]
    fn names_are_case_insensitive_and_an_empty_message_is_filled_in() {
        let status = fail("not_found", "");
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(status.message(), "failed as requested with NOT_FOUND");
    }

    #[test]
    fn unknown_names_and_ok_are_invalid_arguments() {
        let status = fail("NOPE", "x");
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(
            status
                .message()
                .starts_with("unknown status code \"NOPE\"; FailWith takes one of CANCELLED, "),
            "{}",
            status.message()
        );
        assert!(status.metadata().get(REASON_KEY).is_none());
        let status = fail("OK", "x");
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().starts_with("OK is not a failure; "));
    }
}
