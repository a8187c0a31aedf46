//! `streamspec fmt`: rewriting specs in the canonical layout, `--check`, specs with errors, and
//! the repository's own specs and examples, which are kept formatted.

use std::path::Path;

use crate::support::{Test, unindent};

const UNFORMATTED: &str = "
    # The ticker.
    let path = \"/sse/ticker\"
    test \"ticks\"   @sse {
        GET {{base}}{{path}}     # five events
        expect   sse {
            5 times {data:json {\"count\":integer}}


            end
        }
    }
";

const FORMATTED: &str = "
    # The ticker.
    let path = \"/sse/ticker\"

    test \"ticks\" @sse {
      GET {{base}}{{path}}       # five events
      expect sse {
        5 times { data: json { \"count\": integer } }

        end
      }
    }
";

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).expect("read the spec back")
}

#[test]
fn fmt_rewrites_files_in_place_and_names_them() {
    let output = Test::new()
        .spec("a.stream", UNFORMATTED)
        .spec("sub/b.stream", FORMATTED)
        .args(["fmt"])
        .stdout("formatted ./a.stream")
        .run();
    assert_eq!(read(output.dir.path(), "a.stream"), unindent(FORMATTED));
    assert_eq!(read(output.dir.path(), "sub/b.stream"), unindent(FORMATTED));
    // Formatted once, there is nothing left to do.
    Test::new()
        .spec("a.stream", &read(output.dir.path(), "a.stream"))
        .args(["fmt", "a.stream"])
        .run();
}

#[cfg(unix)]
#[test]
fn fmt_keeps_the_files_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let test = Test::new().spec("a.stream", UNFORMATTED);
    let path = test.path().join("a.stream");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let output = test
        .args(["fmt", "a.stream"])
        .stdout("formatted a.stream")
        .run();
    let mode = std::fs::metadata(output.dir.path().join("a.stream"))
        .expect("stat")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o640);
}

/// A read-only spec is refused as `run --update` refuses it (a rename would replace it all the
/// same, and root's writes ignore permissions): `fmt` says so, exits 2 and leaves the file as
/// it was; `fmt --check` only reads it.
#[cfg(unix)]
#[test]
fn fmt_refuses_a_read_only_spec_and_leaves_it_alone() {
    use std::os::unix::fs::PermissionsExt;
    let test = Test::new().spec("a.stream", UNFORMATTED);
    let path = test.path().join("a.stream");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).expect("chmod");
    let output = test
        .args(["fmt", "a.stream"])
        .stderr("error: cannot write `a.stream`: the file is read-only\n")
        .status(2)
        .run();
    let dir = output.dir.path();
    assert_eq!(read(dir, "a.stream"), unindent(UNFORMATTED));
    let mode = std::fs::metadata(dir.join("a.stream"))
        .expect("stat")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o444);
    let check = std::process::Command::new(crate::support::BIN)
        .args(["fmt", "--check", "a.stream"])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run fmt --check");
    assert_eq!(check.status.code(), Some(1), "{check:?}");
    assert!(
        String::from_utf8_lossy(&check.stdout).starts_with("--- a.stream\n"),
        "{check:?}"
    );
}

#[test]
fn fmt_check_shows_the_diff_and_writes_nothing() {
    let output = Test::new()
        .spec("a.stream", UNFORMATTED)
        .spec("b.stream", FORMATTED)
        .args(["fmt", "--check", "."])
        .stdout(
            "
            --- ./a.stream
            +++ ./a.stream (formatted)
            @@ -1,11 +1,11 @@
             # The ticker.
             let path = \"/sse/ticker\"
            -test \"ticks\"   @sse {
            -    GET {{base}}{{path}}     # five events
            -    expect   sse {
            -        5 times {data:json {\"count\":integer}}

            +test \"ticks\" @sse {
            +  GET {{base}}{{path}}       # five events
            +  expect sse {
            +    5 times { data: json { \"count\": integer } }

            -        end
            -    }
            +    end
            +  }
             }
            ",
        )
        .status(1)
        .run();
    assert_eq!(read(output.dir.path(), "a.stream"), unindent(UNFORMATTED));
}

#[test]
fn fmt_check_passes_quietly_on_formatted_files() {
    Test::new()
        .spec("a.stream", FORMATTED)
        .args(["fmt", "--check", "a.stream"])
        .run();
}

/// Steps inside `repeat` and the branches of a `parallel` are laid out as any block is, at every
/// depth, with their comments; named streams keep their `as`, `from` and `in`. The result is
/// formatted: `fmt --check` passes quietly on it.
#[test]
fn fmt_lays_out_repeat_parallel_branches_and_named_streams() {
    let unformatted = "
        test \"fan-out\" {
            GET {{base}}/channels/a/subscribe   as sub
          repeat 3   as i {   # publish three
              POST {{base}}/channels/a/publish?n={{i}}
              expect status 200


          }
          parallel {
              # the readers
            branch reader 2 times as n {
               GET {{base}}/feed as feed
                barrier go
                expect sse {data: _;end}
            }
            branch writer {barrier go; POST {{base}}/p }
          }
          expect sse   from sub {
            3 times { data: _ }
          }
          expect same items in feed
          expect count   in feed == 2
        }
    ";
    let formatted = "
        test \"fan-out\" {
          GET {{base}}/channels/a/subscribe as sub
          repeat 3 as i {     # publish three
            POST {{base}}/channels/a/publish?n={{i}}
            expect status 200
          }
          parallel {
            # the readers
            branch reader 2 times as n {
              GET {{base}}/feed as feed
              barrier go
              expect sse { data: _; end }
            }
            branch writer { barrier go; POST {{base}}/p }
          }
          expect sse from sub {
            3 times { data: _ }
          }
          expect same items in feed
          expect count in feed == 2
        }
    ";
    let output = Test::new()
        .spec("a.stream", unformatted)
        .args(["fmt"])
        .stdout("formatted ./a.stream")
        .run();
    assert_eq!(read(output.dir.path(), "a.stream"), unindent(formatted));
    Test::new()
        .spec("a.stream", formatted)
        .args(["fmt", "--check", "a.stream"])
        .run();
}

#[test]
fn a_spec_that_does_not_parse_is_reported_and_left_alone() {
    let broken = "
        test \"broken\" {
            GRT http://x
        }
    ";
    let output = Test::new()
        .spec("a.stream", UNFORMATTED)
        .spec("b.stream", broken)
        // A variable the run will be given (`--secret`, the environment) is no matter here.
        .spec(
            "c.stream",
            "test \"undefined\" {\n    GET {{nowhere}}/x\n}\n",
        )
        .args(["fmt"])
        .stdout("formatted ./a.stream\nformatted ./c.stream")
        .stderr(
            "
            error: unknown keyword `GRT`
             --> ./b.stream:2:5
              |
            2 |     GRT http://x
              |     ^^^
              |
              = help: did you mean `GET`?

            ",
        )
        .status(2)
        .run();
    assert_eq!(read(output.dir.path(), "b.stream"), unindent(broken));
    assert_eq!(read(output.dir.path(), "a.stream"), unindent(FORMATTED));
}

/// A spec that parses but fails `check` is reported with the check's errors and left alone,
/// as one that does not parse is, with `--check` too; a variable that is not set is no error
/// here (the run sets it).
#[test]
fn a_spec_that_fails_check_is_reported_and_left_alone() {
    let failing = "
        test \"t\" {
              GET {{base}}/x
          expect sse { end; data: _ }
        }
    ";
    let errors = "
        error: nothing can follow `end` but `reconnect`
         --> ./a.stream:3:21
          |
        3 |   expect sse { end; data: _ }
          |                     ^^^^^^^ the connection is closed here
          |
          = help: write `reconnect` to open the stream again (a `wait` may come before it)

        ";
    for check in [false, true] {
        let mut args = vec!["fmt"];
        if check {
            args.push("--check");
        }
        args.push(".");
        let output = Test::new()
            .spec("a.stream", failing)
            .args(args)
            .stderr(errors)
            .status(2)
            .run();
        assert_eq!(read(output.dir.path(), "a.stream"), unindent(failing));
    }
}

#[test]
fn no_spec_files_is_an_error() {
    Test::new()
        .file("notes.txt", "not a spec")
        .args(["fmt"])
        .stderr("error: no .stream files found in `.`")
        .status(4)
        .run();
}

/// The repository's specs and examples are committed formatted: `fmt --check` finds nothing.
#[test]
fn the_repository_specs_and_examples_are_formatted() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for dir in ["specs", "examples"] {
        Test::new()
            .args([
                "fmt".to_string(),
                "--check".to_string(),
                root.join(dir).display().to_string(),
            ])
            .run();
    }
}

/// Spellings are the author's: `1 items` and `first items` (the grammar takes `item` and
/// `items` alike) stay as written, as `1500ms` does for `1.5s`.
#[test]
fn fmt_keeps_item_or_items_as_written() {
    let spec = r#"
        test "a" {
          GET http://example.invalid/
          expect sse {
            abort after 1 items
          }
          expect first items < 1500ms
        }

        test "b" {
          GET http://example.invalid/
          expect sse {
            abort after 3 item
          }
          expect test first item < 1s
        }
        "#;
    Test::new()
        .spec("a.stream", spec)
        .args(["fmt", "--check", "."])
        .run();
}

#[test]
fn fmt_writes_a_threshold_one_way() {
    let output = Test::new()
        .spec(
            "a.stream",
            "test \"t\" {\n  threshold   P99   gap<100 ms\n  GET http://127.0.0.1:1/\n  expect sse {\n    end\n  }\n}\n",
        )
        .args(["fmt"])
        .stdout("formatted ./a.stream")
        .run();
    assert_eq!(
        read(output.dir.path(), "a.stream"),
        "test \"t\" {\n  threshold p99 gap < 100ms\n  GET http://127.0.0.1:1/\n  expect sse {\n    end\n  }\n}\n"
    );
}
