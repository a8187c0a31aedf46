//! Secrets a server echoes encoded: escaped in a JSON string the ways common encoders escape
//! (PHP's `\/`, Python's `\u00e9`, Go's `\u003c`, .NET's upper-case `\u00E9`), percent-encoded
//! in each part of a URL (upper- and lower-case hex), and base64-encoded inside a longer text
//! (a Basic auth header, at each of the 3 alignments, in both alphabets). No stretch of 6
//! characters of the secret, or of its base64 encoding, may reach any output.

use std::collections::HashMap;

use axum::Router;
use axum::extract::Path;
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use std::sync::OnceLock;

use crate::secrets::everything_shown;
use crate::support::Test;

/// Runs of letters and digits, 6 or more long, between the characters each encoding changes.
const SECRET: &str = "Qx7fR2Lm/k9VbN3é<Wp8TzA>&Hc4Jd6+@Rs5Gy2:Kf8Vn1 Zt4Bw7";

/// The server of this file, started once.
fn echo() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| crate::servers::serve(Router::new().route("/encoded/{form}", post(encoded))))
}

/// `POST /encoded/{form}`: a plain body holding the request body, encoded as `form` says.
async fn encoded(Path(form): Path<String>, body: String) -> String {
    match form.as_str() {
        "json-slash" => format!(r#"{{"token": "{}"}}"#, json(&body, |c| c == '/', false)),
        "json-ascii" => format!(
            r#"{{"token": "{}"}}"#,
            json(&body, |c| !c.is_ascii(), false)
        ),
        "json-go" => format!(
            r#"{{"token": "{}"}}"#,
            json(&body, |c| "<>&".contains(c), false)
        ),
        "json-php" => format!(
            r#"{{"token": "{}"}}"#,
            json(&body, |c| c == '/' || !c.is_ascii(), false)
        ),
        "json-dotnet" => format!(
            r#"{{"token": "{}"}}"#,
            json(&body, |c| "<>&'+".contains(c) || !c.is_ascii(), true)
        ),
        "url-userinfo" => format!(
            "http://me:{}@example.com/",
            percent(&body, "!$&'()*+,", true)
        ),
        "url-path" => format!(
            "http://example.com/keys/{}",
            percent(&body, "!$&'()*+,;=:@", true)
        ),
        "url-query" => format!(
            "http://example.com/?key={}",
            percent(&body, "!$&()*+,;=:@/?", true)
        ),
        "url-form" => format!("key={}", percent(&body, "*", true).replace("%20", "+")),
        "url-lower" => format!("http://example.com/?key={}", percent(&body, "", false)),
        other => {
            let (alphabet, user) = other.split_once('-').unwrap_or((other, ""));
            let credentials = format!("{user}:{body}");
            match alphabet {
                "basic" => format!("Authorization: Basic {}", STANDARD.encode(&credentials)),
                _ => format!("token={}", URL_SAFE_NO_PAD.encode(&credentials)),
            }
        }
    }
}

/// `text` inside a JSON string, the characters `escaped` picks written as `\uXXXX` (in
/// upper-case hex when `upper`), `/` as `\/` where it is picked.
fn json(text: &str, escaped: impl Fn(char) -> bool, upper: bool) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c == '/' && escaped(c) {
            out.push_str("\\/");
        } else if escaped(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let hex = format!("{unit:04x}");
                out.push_str("\\u");
                out.push_str(&if upper { hex.to_uppercase() } else { hex });
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `text` percent-encoded: every byte but letters, digits, `-._~` and those in `kept`.
fn percent(text: &str, kept: &str, upper: bool) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric()
            || b"-._~".contains(&byte)
            || kept.as_bytes().contains(&byte)
        {
            out.push(char::from(byte));
        } else if upper {
            out.push_str(&format!("%{byte:02X}"));
        } else {
            out.push_str(&format!("%{byte:02x}"));
        }
    }
    out
}

/// The forms of the server, each with a test of its own that fails showing the body.
const FORMS: &[&str] = &[
    "json-slash",
    "json-ascii",
    "json-go",
    "json-php",
    "json-dotnet",
    "url-userinfo",
    "url-path",
    "url-query",
    "url-form",
    "url-lower",
    // `user:` before the secret: 0, 1 and 2 bytes past a 3-byte group of base64.
    "basic-abcdefgh",
    "basic-abcdefghi",
    "basic-abcdefghij",
    "token-abcdefgh",
    "token-abcdefghi",
    "token-abcdefghij",
];

/// The base64 characters that only the secret's bytes decide in the encoding of `user:secret`
/// (the characters at either end share bits with the bytes around).
fn base64_of_the_secret(form: &str) -> Option<String> {
    let (alphabet, user) = form.split_once('-')?;
    let before = user.len() + 1;
    let encoded = match alphabet {
        "basic" => STANDARD.encode(format!("{user}:{SECRET}")),
        "token" => URL_SAFE_NO_PAD.encode(format!("{user}:{SECRET}")),
        _ => return None,
    };
    let first = (8 * before).div_ceil(6);
    let end = 8 * (before + SECRET.len()) / 6;
    Some(encoded[first..end].to_string())
}

/// Every stretch of 6 characters of `text` made only of letters and digits (and `+/-_`, the
/// other characters of base64), which no encoding here changes.
fn stretches(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    chars
        .windows(6)
        .filter(|window| {
            window
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || "+/-_".contains(*c))
        })
        .map(|window| window.iter().collect())
        .collect()
}

#[test]
fn a_secret_echoed_in_any_encoding_is_masked_in_every_report() {
    let mut spec = String::new();
    for form in FORMS {
        spec.push_str(&format!(
            "test \"{form}\" {{\n  POST {{{{echo}}}}/encoded/{form}\n  body text \"{{{{token}}}}\"\n  expect text \"nope\"\n}}\n\n"
        ));
    }
    let secret = format!("token={SECRET}");
    let output = Test::new()
        .spec("a.stream", &spec)
        .args(["run", "a.stream", "--secret", &secret, "--verbose"])
        .args(["--report-junit", "junit.xml", "--report-tap", "report.tap"])
        .args(["--report-json", "report.jsonl"])
        .var("echo", echo())
        .env("GITHUB_ACTIONS", "true")
        .run_unchecked();
    assert_eq!(output.status, Some(1), "{output:?}");
    let shown = everything_shown(&output, &["a.stream"]);
    let mut parts: HashMap<String, &str> = HashMap::new();
    for stretch in stretches(SECRET) {
        parts.insert(stretch, "the secret");
    }
    for form in FORMS {
        for stretch in base64_of_the_secret(form)
            .as_deref()
            .map_or(Vec::new(), stretches)
        {
            parts.insert(stretch, form);
        }
    }
    for (name, text) in &shown {
        for (part, of) in &parts {
            assert!(
                !text.contains(part.as_str()),
                "`{part}` of {of} shows in {name}:\n{text}"
            );
        }
    }
    // Each test failed showing its body, with the mask where the secret was.
    let stdout = &shown[0].1;
    for form in FORMS {
        let failed = stdout
            .split("  FAIL [TIME] a.stream: ")
            .find(|failure| failure.starts_with(&format!("{form}\n")));
        assert!(
            failed.is_some_and(|failure| failure.contains("found \"") && failure.contains("***")),
            "no masked body for {form}:\n{stdout}"
        );
    }
}
