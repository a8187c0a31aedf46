//! The formatter on small specs: the layout, comments, line endings, and what it keeps as
//! written; and over every spec in the repository: idempotent, and the same syntax tree.

use std::path::{Path, PathBuf};

use super::*;

fn fmt(text: &str) -> String {
    match format_source(Path::new("t.stream"), text) {
        Ok(out) => out,
        Err(error) => panic!("{error:?}\n--- input:\n{text}"),
    }
}

/// Formats and checks that formatting again changes nothing.
fn fmt_stable(text: &str) -> String {
    let once = fmt(text);
    assert_eq!(fmt(&once), once, "formatting twice changed the text");
    once
}

#[test]
fn an_empty_file_stays_empty() {
    assert_eq!(fmt(""), "");
    assert_eq!(fmt("\n\n"), "");
}

#[test]
fn a_file_of_comments_keeps_them_with_one_blank_line_at_most() {
    assert_eq!(
        fmt_stable("# one\n\n\n\n   # two\n# three"),
        "# one\n\n# two\n# three\n"
    );
}

#[test]
fn indentation_spacing_and_blank_lines_become_canonical() {
    let text = "let base = \"http://x\"\ntest \"a\"   @smoke {\n\n      GET {{base}}/sse\n\n\n\texpect   sse {\n  data:json {\"a\":1,\"b\":[1,2,...]}   within 1s\n    5    times {data: _}\n end\n\n }\n}\ntest \"b\" {\n}\n";
    assert_eq!(
        fmt_stable(text),
        "let base = \"http://x\"\n\ntest \"a\" @smoke {\n  GET {{base}}/sse\n\n  expect sse {\n    data: json { \"a\": 1, \"b\": [1, 2, ...] }  within 1s\n    5 times { data: _ }\n    end\n  }\n}\n\ntest \"b\" {\n}\n"
    );
}

#[test]
fn comments_stay_in_their_places() {
    let text = "\
# header

let a = 1    # after a let

# before the test
test \"t\" {   # after the brace
  # before a step
  GET http://x/#not-a-comment   # after a step
  expect sse {
    # first in a block
    data: \"#\"  # after an item
    # last in a block
  }     # after a block
  # last in a test
}
# at the end
";
    assert_eq!(fmt_stable(text), text);
}

#[test]
fn trailing_comments_keep_their_column_or_move_two_spaces_after_the_line() {
    // The lines move left; the comments stay aligned where they were, except the one the line
    // now reaches.
    let text = "test \"t\" {\n    GET http://x          # aligned\n    expect status 200     # aligned\n  expect header content-type == text/event-stream # pushed\n}\n";
    assert_eq!(
        fmt_stable(text),
        "test \"t\" {\n  GET http://x            # aligned\n  expect status 200       # aligned\n  expect header content-type == text/event-stream  # pushed\n}\n"
    );
}

#[test]
fn one_line_blocks_and_steps_joined_by_semicolons_stay_on_one_line() {
    let text = "test \"t\" { GET http://x ;expect sse {data: _;end} }\ntest \"u\" {\n  GET http://x\n  expect sse {\n    id: \"1\";id: \"2\"  ;  end\n  }\n}\n";
    assert_eq!(
        fmt_stable(text),
        "test \"t\" { GET http://x; expect sse { data: _; end } }\n\ntest \"u\" {\n  GET http://x\n  expect sse {\n    id: \"1\"; id: \"2\"; end\n  }\n}\n"
    );
}

#[test]
fn a_pattern_over_several_lines_is_kept_as_written_and_moves_with_its_statement() {
    let text = "test \"t\" {\n      POST http://x\n      body json { \"a\": 1,\n                  \"b\": 2 }   # two lines\n      expect json {\n        \"a\": 1,   # inside\n        \"b\": 2\n      }  $.c exists\n}\n";
    assert_eq!(
        fmt_stable(text),
        "test \"t\" {\n  POST http://x\n  body json { \"a\": 1,\n              \"b\": 2 }       # two lines\n  expect json {\n    \"a\": 1,   # inside\n    \"b\": 2\n  }  $.c exists\n}\n"
    );
}

#[test]
fn a_one_line_block_with_a_pattern_over_several_lines_opens_up() {
    let text = "test \"t\" {\n  GET http://x\n  expect ndjson {\n    3 times { { \"a\": 1,\n                \"b\": 2 } }\n  }\n}\n";
    assert_eq!(
        fmt_stable(text),
        "test \"t\" {\n  GET http://x\n  expect ndjson {\n    3 times {\n      { \"a\": 1,\n        \"b\": 2 }\n    }\n  }\n}\n"
    );
}

#[test]
fn the_authors_spellings_stay() {
    let text = "test \"t\" {\n  timeout 1.5m\n  GET http://x\n  expect status 2XX\n  expect header Content-Type ~ /^text\\/plain/\n  expect lines { 1.. times { \"caf\\u00e9\" } }\n  expect reconnect delay in 400ms..1500ms\n}\n";
    assert_eq!(fmt_stable(text), text);
}

#[test]
fn parts_of_an_item_keep_their_order() {
    let text = "test \"t\" {\n  GET http://x\n  expect sse {\n    retry: 500 id: \"1\"   data: _ after 1ms within 2s\n    reconnect with query a=1 with header b: c\n  }\n}\n";
    assert_eq!(
        fmt_stable(text),
        "test \"t\" {\n  GET http://x\n  expect sse {\n    retry: 500  id: \"1\"  data: _  after 1ms  within 2s\n    reconnect with query a=1 with header b: c\n  }\n}\n"
    );
}

#[test]
fn lets_move_before_the_tests() {
    let text =
        "let a = 1\ntest \"t\" {\n  GET http://x/{{a}}/{{b}}\n}\n# about b\nlet b = \"two\"\n";
    assert_eq!(
        fmt_stable(text),
        "let a = 1\n# about b\nlet b = \"two\"\n\ntest \"t\" {\n  GET http://x/{{a}}/{{b}}\n}\n"
    );
}

#[test]
fn crlf_line_endings_and_a_byte_order_mark_are_kept() {
    let text = "\u{feff}test \"t\" {\r\n    GET http://x   # c\r\n}";
    assert_eq!(
        fmt_stable(text),
        "\u{feff}test \"t\" {\r\n  GET http://x     # c\r\n}\r\n"
    );
}

#[test]
fn a_missing_final_newline_is_added_and_unicode_is_kept() {
    assert_eq!(
        fmt_stable("test \"日本\" { GET http://x/é; expect text \"🌍 世界\" }"),
        "test \"日本\" { GET http://x/é; expect text \"🌍 世界\" }\n"
    );
}

#[test]
fn every_construct_round_trips() {
    let text = r#"let base = "http://127.0.0.1:7878"
let n = 5
let on = true

test "http" @a @b {
  timeout 10s
  POST {{base}}/x?y=1
  header authorization: Bearer {{token}}
  header x-quoted: "a # b"
  body text "hi\n"
  expect status 200
  expect header x-a ~ /^(\d+)$/ -> a
  expect header x-b == "b"
  expect header x-c != c
  expect header x-d contains d
  expect header x-e exists
  expect header x-f not exists
  expect sse {
    first within 500ms
    abort after 3 items
    ignore event: "ping"
    all $.a exists
    pace 10ms
    id: _  event: "tick"  data: json exact { "a": [1, ...], "b": _ -> c, "d": {{n}}, "e": 1..2, "f": < 3, "g": string, "h": null, "i": false } -> whole
    data: contains "x" -> part  retry: > 0
    $.a == 1  $.b != "x"  $.c ~ /x/i  $.d contains "y"  $.e >= 2  $.f not exists
    ...
    2..4 times { data: _ }
    * times { data: _ }
    until data: "[DONE]" { data: _ }
    any order { data: "a"; data: "b" }
    wait 1s
    dropped
    disconnect
    reconnect with header last-event-id: "" with query after={{k}}
    end
  }
  expect count in 3..7
  expect bytes > 0
  expect ttfb < 1s
  expect duration in 1s..2m
  expect first item < 1s
  expect gaps max < 500ms, mean < 200ms, p99 < 1h
  expect connections == 2
  expect retry == 500
  expect reconnect delay in 400ms..1s
  expect ids contiguous
  expect test count == 13
  expect part joined == "x"
  expect part count in 1..
  expect part first ~ /x/
  expect part last contains "x"
  expect part joined != "y"
  abort
}

test "bodies" {
  GET {{base}}/y
  body file "a.json"
  expect json [{ "id": 1 }, ...]  $.a == 1
  GET {{base}}/z
  body json { "a": [1, 2.5, "x"] }
  expect text contains "x"  size 10..
  expect lines { /a/; contains "b"  size < 3; size 4; _; end }
  expect chunks { "a"; end }
}

test "grpc" {
  grpc {{grpc}} stock.StockService/StreamPrices
  metadata x-a: b
  metadata trace-bin: "q6ur"
  deadline 2s
  message { "symbols": ["AAPL"] }
  authority example.com
  insecure
  proto "a.proto"
  import "protos"
  descriptor "set.binpb"
  send { "a": 1 }
  close
  expect metadata x-a == "b"
  expect trailer x-b exists
  expect message { "a": 1 }  within 1s
  expect messages {
    where symbol == "AAPL" { { "tick": 1 }; { "tick": 2 } }
    where $.quote.symbol == /^G/ {
      3 times { { "tick": integer }  within 1s }
    }
    end
  }
  expect end
  expect status NOT_FOUND message ~ /x/
  expect status OK message contains "y"
}
"#;
    assert_eq!(fmt_stable(text), text);
}

/// The spec files of the repository: formatting them is idempotent, keeps their syntax tree, and
/// (since they are committed formatted) changes nothing.
#[test]
fn the_repository_specs_are_formatted() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = crate::discover::discover(&[root.join("specs"), root.join("examples")])
        .unwrap_or_else(|error| panic!("{error}"));
    assert!(files.len() > 50, "found only {} spec files", files.len());
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{e}"));
        let formatted = format_source(&file, &text)
            .unwrap_or_else(|error| panic!("{}: {error:?}", file.display()));
        assert_same_tree(&file, &text, &formatted);
        assert_eq!(
            format_source(&file, &formatted).ok().as_deref(),
            Some(formatted.as_str()),
            "{}: formatting twice changed the text",
            file.display()
        );
        assert!(
            formatted == text,
            "{} is not formatted: run `streamspec fmt specs examples`",
            file.display()
        );
    }
}

fn assert_same_tree(file: &PathBuf, before: &str, after: &str) {
    let parse = |text: &str| {
        crate::syntax::parse(&crate::source::SourceFile::new(file, text))
            .unwrap_or_else(|errors| panic!("{}: {errors:?}", file.display()))
    };
    assert_eq!(
        verify::fingerprint(&parse(before)),
        verify::fingerprint(&parse(after)),
        "{}",
        file.display()
    );
}

#[test]
fn a_spec_with_a_syntax_error_is_not_formatted() {
    let result = format_source(Path::new("t.stream"), "test \"t\" {\n  GRT http://x\n}\n");
    assert!(matches!(result, Err(FormatError::Invalid(_))));
}

#[test]
fn a_comment_the_layout_would_lose_is_refused() {
    // A comment right after a token, without a blank: the statement's span swallows it, so the
    // layout cannot see it; the safety net notices the missing `#`.
    let result = format_source(
        Path::new("t.stream"),
        "test \"t\" {\n  GET http://x\n  expect sse { data: _#c\n  }\n}\n",
    );
    assert!(matches!(result, Err(FormatError::Unsafe(_))), "{result:?}");
}

// ─── Steps in blocks: `repeat`, `parallel` and its branches; named streams ───────────────────

#[test]
fn repeat_parallel_and_branches_are_laid_out_at_every_depth_with_their_comments() {
    let text = "\
test \"fan-out\" {
    GET {{base}}/channels/a/subscribe   as sub
  expect status 200
  repeat 3   as i {   # publish three
      POST {{base}}/publish?n={{i}}
    # check it
      expect status 200


  }
  parallel {   # at once
      # readers first


    branch reader 5 times   as n {
       GET {{base}}/feed as feed   # each its own
        # wait for the writer
        barrier go

        expect sse {
        data: _
          # inside the items
        end
        }
        repeat 2 {
          parallel {
        branch inner {
        GET {{base}}/x
          # deepest
        }
          }
        }
        # last in reader
    }
    # between the branches

    branch writer {
      barrier   go
      POST {{base}}/p
    }
    # last in parallel
  }
  expect sse   from sub {
    3 times { data: _ }
  }
  expect same   items in feed
  expect count   in feed == 50
}
";
    assert_eq!(
        fmt_stable(text),
        "\
test \"fan-out\" {
  GET {{base}}/channels/a/subscribe as sub
  expect status 200
  repeat 3 as i {     # publish three
    POST {{base}}/publish?n={{i}}
    # check it
    expect status 200
  }
  parallel {   # at once
    # readers first

    branch reader 5 times as n {
      GET {{base}}/feed as feed    # each its own
      # wait for the writer
      barrier go

      expect sse {
        data: _
        # inside the items
        end
      }
      repeat 2 {
        parallel {
          branch inner {
            GET {{base}}/x
            # deepest
          }
        }
      }
      # last in reader
    }
    # between the branches

    branch writer {
      barrier go
      POST {{base}}/p
    }
    # last in parallel
  }
  expect sse from sub {
    3 times { data: _ }
  }
  expect same items in feed
  expect count in feed == 50
}
"
    );
}

#[test]
fn repeats_and_branches_written_on_one_line_stay_on_one_line() {
    let text = "\
test \"t\" {
  GET http://x as sub
  repeat 3 times {POST http://x/p ;expect status 200}
  parallel { branch a {GET http://x/a; barrier go};branch b 2 times as i { barrier go; GET http://x/{{i}} } }
  parallel {
    branch writer {barrier go; POST http://x/p }
  }
  repeat 2 {GET http://x; expect sse {data: _;end}}
  repeat 1 {}
  parallel {}
  repeat 2 { GET http://y
  expect status 200 }
}
";
    assert_eq!(
        fmt_stable(text),
        "\
test \"t\" {
  GET http://x as sub
  repeat 3 { POST http://x/p; expect status 200 }
  parallel { branch a { GET http://x/a; barrier go }; branch b 2 times as i { barrier go; GET http://x/{{i}} } }
  parallel {
    branch writer { barrier go; POST http://x/p }
  }
  repeat 2 { GET http://x; expect sse { data: _; end } }
  repeat 1 {}
  parallel {}
  repeat 2 {
    GET http://y
    expect status 200
  }
}
"
    );
}

#[test]
fn named_streams_and_groups_round_trip() {
    let text = r#"test "streams" {
  GET {{base}}/a as sub
  expect status 200
  expect sse { event: "subscribed" }
  grpc {{grpc}} stock.StockService/StreamPrices as call
  message { "symbols": ["AAPL"] }
  repeat 3 as i {
    POST {{base}}/a?n={{i}}
  }
  parallel {
    branch reader 5 times as n {
      GET {{base}}/feed as feed
      barrier go
      expect ndjson { { "n": {{n}} } }
    }
    branch writer {
      barrier go
      POST {{base}}/p
    }
  }
  expect sse from sub {
    3 times { data: _ }
  }
  expect messages from call { { "tick": 1 } }
  expect same items in feed
  expect count in feed == 50
  expect bytes in feed > 0
  expect connections in feed == 5
  expect ttfb in feed < 1s
  expect duration in reader < 5000ms
  expect first item in feed < 1s
  expect gaps in feed max < 500ms, mean < 200ms
  expect reconnect delay in feed in 400ms..1s
}
"#;
    assert_eq!(fmt_stable(text), text);
}

#[test]
fn steps_in_blocks_keep_crlf_line_endings() {
    let text = "test \"t\" {\r\n  repeat 2 {   # c\r\n      parallel {\r\n\r\n\r\n    branch a {\r\n  GET http://x as s\r\n}\r\n}\r\n  }\r\n}";
    assert_eq!(
        fmt_stable(text),
        "test \"t\" {\r\n  repeat 2 {   # c\r\n    parallel {\r\n      branch a {\r\n        GET http://x as s\r\n      }\r\n    }\r\n  }\r\n}\r\n"
    );
}

/// The safety net compares the whole tree: a branch or a step inside one, or a name, that the
/// layout lost or changed would be refused.
#[test]
fn the_safety_net_sees_a_lost_branch_step_or_name() {
    let path = Path::new("t.stream");
    let text = "test \"t\" {\n  parallel {\n    branch a 2 times as i { GET http://x as s }\n    branch b { repeat 2 { GET http://y; GET http://z } }\n  }\n  expect count in s == 2\n}\n";
    let spec = crate::syntax::parse(&crate::source::SourceFile::new(path, text))
        .unwrap_or_else(|errors| panic!("{errors:?}"));
    assert_eq!(verify::same_meaning(&spec, path, text), Ok(()));
    let changes = [
        (
            "    branch b { repeat 2 { GET http://y; GET http://z } }\n",
            "",
        ),
        ("; GET http://z", ""),
        ("repeat 2", "repeat 3"),
        (" 2 times", ""),
        (" as i", ""),
        (" as s", " as t"),
        ("in s ==", "=="),
    ];
    for (from, to) in changes {
        let changed = text.replacen(from, to, 1);
        assert_ne!(changed, text);
        assert!(
            verify::same_meaning(&spec, path, &changed).is_err(),
            "not seen: `{from}` → `{to}`"
        );
    }
}
