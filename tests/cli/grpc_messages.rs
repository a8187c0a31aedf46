//! gRPC failures in gRPC's words: response metadata and trailers are named as such (not as
//! HTTP headers), and a `bytes` field that is not base64 is named, with what was written.

use crate::grpc_servers;
use crate::servers;
use crate::support::Test;

#[test]
fn metadata_and_trailers_are_named_as_such() {
    Test::new()
        .spec(
            "a.stream",
            r#"
            test "metadata" {
              grpc {{grpc}} stock.StockService/GetQuote
              message { "symbol": "MSFT" }
              expect metadata x-demo-service == "bonds"
              expect metadata x-region exists
              expect metadata x-demo-service not exists
              expect status OK
            }

            test "trailers" {
              grpc {{grpc}} stock.StockService/GetQuote
              message { "symbol": "MSFT" }
              expect trailer x-demo-calls == "none"
              expect trailer x-region exists
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("grpc", servers::grpc_demo())
        // The demo counts its calls, and other tests call it too.
        .redact(r"x-demo-calls: \d+", "x-demo-calls: N")
        .stdout(
            r#"
            Running 2 tests from 1 file
              FAIL [TIME] a.stream: metadata

            error: metadata `x-demo-service` does not match
             --> a.stream:4:3
              |
            4 |   expect metadata x-demo-service == "bonds"
              |   ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ expected == "bonds", found `x-demo-service: stock`

            error: metadata `x-region` does not match
             --> a.stream:5:3
              |
            5 |   expect metadata x-region exists
              |   ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ expected the metadata to be present, found no such metadata

            error: metadata `x-demo-service` does not match
             --> a.stream:6:3
              |
            6 |   expect metadata x-demo-service not exists
              |   ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ expected no such metadata, found `x-demo-service: stock`

              FAIL [TIME] a.stream: trailers

            error: trailer `x-demo-calls` does not match
              --> a.stream:13:3
               |
            13 |   expect trailer x-demo-calls == "none"
               |   ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ expected == "none", found `x-demo-calls: N`

            error: trailer `x-region` does not match
              --> a.stream:14:3
               |
            14 |   expect trailer x-region exists
               |   ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ expected the trailer to be present, found no such trailer

            Summary 2 tests: 0 passed, 2 failed [TIME]
              FAIL a.stream:1: metadata
              FAIL a.stream:10: trailers
            "#,
        )
        .status(1)
        .run();
}

/// `blobs.proto`: a store of named blobs of bytes.
const BLOBS_PROTO: &str = "syntax = \"proto3\";
package blobs;
service Store { rpc Put(Blob) returns (Empty); }
message Empty {}
message Blob { string name = 1; bytes data = 2; repeated Blob parts = 3; }
";

#[test]
fn a_bytes_field_that_is_not_base64_is_named() {
    Test::new()
        .file("blobs.proto", BLOBS_PROTO)
        .spec(
            "a.stream",
            r#"
            test "a space in the base64" {
              grpc {{grpc}} blobs.Store/Put
              proto "blobs.proto"
              message { "name": "a", "data": "AAA BBB=" }
              expect status OK
            }

            test "text where bytes go, deeper" {
              grpc {{grpc}} blobs.Store/Put
              proto "blobs.proto"
              message { "name": "a", "parts": [{ "data": "aGk=" }, { "data": "not base64!" }] }
              expect status OK
            }
            "#,
        )
        .args(["run", "a.stream"])
        .var("grpc", grpc_servers::floats())
        .stdout(
            r#"
            Running 2 tests from 1 file
             ERROR [TIME] a.stream: a space in the base64

            error: this message does not fit `blobs.Blob`
             --> a.stream:4:11
              |
            4 |   message { "name": "a", "data": "AAA BBB=" }
              |           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ field `data`: expected a base64 string, found "AAA BBB=" (a space at character 4 is not base64)

             ERROR [TIME] a.stream: text where bytes go, deeper

            error: this message does not fit `blobs.Blob`
              --> a.stream:11:11
               |
            11 |   message { "name": "a", "parts": [{ "data": "aGk=" }, { "data": "not base64!" }] }
               |           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^ field `parts[1].data`: expected a base64 string, found "not base64!" (a space at character 4 is not base64)

            Summary 2 tests: 0 passed, 0 failed, 2 errors [TIME]
             ERROR a.stream:1: a space in the base64
             ERROR a.stream:8: text where bytes go, deeper
            "#,
        )
        .status(1)
        .run();
}
