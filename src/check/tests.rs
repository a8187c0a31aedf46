//! The checks `fmt` runs (every variable taken as set) on the concurrency constructs.

use super::check_any_vars;
use crate::diagnostic::Severity;
use crate::source::SourceFile;

/// `fmt` formats a spec only when it has no check errors: the constructs of named streams,
/// `repeat`, `parallel` and barriers, written as they are meant, must have none.
#[test]
fn fmt_finds_no_errors_in_the_concurrency_constructs() {
    let text = r#"
test "fan out" {
  GET {{base}}/channels/a/subscribe as sub
  expect sse { event: "subscribed" }
  POST {{base}}/channels/a/publish
  expect sse from sub { event: "message" }
  expect status 200
  repeat 3 times as i { POST {{base}}/publish?n={{i}} }
  parallel {
    branch reader 5 times as n {
      GET {{base}}/subscribe?reader={{n}} as feed
      barrier go
      expect sse { data: _ -> last }
    }
    branch writer { barrier go; POST {{base}}/publish; expect header x-id exists -> id }
  }
  GET {{base}}/done?id={{writer.id}}&last={{reader.last}}
  expect same items in feed
  expect count in feed == 50
  expect duration in reader < 5s
  expect reader.last count == 5
  grpc http://127.0.0.1:1 chat.Chat/Talk as call
  expect messages from call { { "text": string } }
}
"#;
    let spec = match crate::syntax::parse(&SourceFile::new("a.stream", text)) {
        Ok(spec) => spec,
        Err(errors) => panic!("the spec does not parse: {errors:?}"),
    };
    let errors: Vec<String> = check_any_vars(&spec)
        .into_iter()
        .filter(|diagnostic| diagnostic.severity == Severity::Error)
        .map(|diagnostic| diagnostic.message)
        .collect();
    assert_eq!(errors, Vec::<String>::new());
}
