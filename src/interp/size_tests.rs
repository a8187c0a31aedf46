//! Bounds on the size of what a test's run holds while it waits: a load holds one run per user
//! (10,000 at once in benches/load.sh), so every byte here is multiplied by the users.

use std::collections::HashMap;
use std::mem::size_of_val;

use super::vars::Identity;
use super::{TestRun, run_iteration};
use crate::project::Group;
use crate::runner::{GroupLimits, group_settings};
use crate::source::SourceFile;
use crate::transport::http::HttpClient;

/// A run's state, inline in every iteration's future (2.7 KB). A gRPC call's or a WebSocket's
/// state is boxed: 1.6 KB each, inline they made it 6 KB for a test with neither, and the
/// iteration's future twice that.
#[test]
fn a_test_run_keeps_rarely_used_state_out_of_line() {
    let size = std::mem::size_of::<TestRun>();
    assert!(size <= 3584, "TestRun is {size} bytes");
}

/// The future of one iteration of an SSE test, as a load user's task holds it whatever step it
/// is at: each step's work is boxed where it is awaited, and so is the report of a run cut off,
/// which closes named streams. 3.2 KB in a debug build (the bound leaves room for a little
/// more); with that report inline it was 8 KB, and 16 KB with the gRPC and WebSocket state
/// inline too (16.8 KB per user's task in a release build).
#[test]
fn an_iteration_future_holds_only_the_run_and_the_step_at_hand() {
    let text = "test \"t\" {\n  GET http://127.0.0.1:9/sse\n  expect sse {\n    1 times { data: _ }\n  }\n}\n";
    let spec = crate::syntax::parse(&SourceFile::new("t.stream", text))
        .unwrap_or_else(|errors| panic!("{errors:?}"));
    let group = Group {
        config: None,
        specs: Vec::new(),
    };
    let client = HttpClient::new().unwrap_or_else(|error| panic!("{error}"));
    let settings = group_settings(
        &group,
        HashMap::new(),
        &client,
        "run",
        GroupLimits::default(),
        false,
    );
    let identity = Identity {
        vu: 1,
        iteration: 1,
    };
    let iteration = run_iteration(
        &settings,
        &spec,
        &spec.tests[0],
        identity,
        std::future::pending(),
    );
    let size = size_of_val(&iteration);
    assert!(size <= 4608, "an iteration's future is {size} bytes");
}
