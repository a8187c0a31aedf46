//! The forms a secret's value takes where a report can show it: as written; escaped in a JSON
//! string the ways common JSON encoders escape (serde_json, PHP's `\/`, Python's `ensure_ascii`,
//! Go's and .NET's HTML-safe `\u003c`); percent-encoded under each set a URL's parts and forms
//! use; HTML-escaped; base64-encoded (standard and URL-safe) inside a longer encoded text; and
//! each of those quoted once or twice more, as reports quote a value inside a JSON string
//! literal. [`super::redact::Secrets`] masks every form, letters in any ASCII case (so `%2f`
//! and `%2F`, `\u00e9` and `\u00E9` are one form).

use std::collections::HashSet;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use percent_encoding::{AsciiSet, CONTROLS, NON_ALPHANUMERIC, utf8_percent_encode};

/// The fewest base64 characters of a secret that are a form of it: fewer would mask ordinary
/// words that happen to be the encoding of a few bytes. A value of 7 bytes or more has its
/// encoding masked at every alignment.
pub const MIN_BASE64_CHARS: usize = 8;

/// Every form of `value`, without repeats (letters compared in any case), `value` first.
pub fn forms(value: &str) -> Vec<String> {
    let mut forms = Forms::default();
    let mut encoded = vec![value.to_string(), html_escape(value)];
    encoded.extend(percent_encoded(value));
    encoded.extend(base64_fragments(value.as_bytes()));
    // As sent, and inside a JSON string as each encoder writes it.
    let mut escaped = encoded.clone();
    for text in &encoded {
        for style in JsonStyle::ALL {
            escaped.push(json_escape(text, style));
        }
    }
    for text in escaped {
        // Quoted by a report (a message quotes an item as a JSON string, a JSON report quotes
        // the message), and quoted once more (a JSON string inside a JSON string).
        let quoted = json_escape(&text, JsonStyle::SERDE);
        let quoted_twice = json_escape(&quoted, JsonStyle::SERDE);
        forms.push(text);
        forms.push(quoted);
        forms.push(quoted_twice);
    }
    forms.list
}

/// A list without repeats, letters compared in any case.
#[derive(Default)]
struct Forms {
    seen: HashSet<String>,
    list: Vec<String>,
}

impl Forms {
    fn push(&mut self, form: String) {
        if !form.is_empty() && self.seen.insert(form.to_ascii_lowercase()) {
            self.list.push(form);
        }
    }
}

/// Which characters a JSON encoder writes as an escape.
#[derive(Debug, Clone, Copy)]
struct JsonStyle {
    /// `/` as `\/` (PHP's default).
    slash: bool,
    /// Every character past ASCII as `\uXXXX`, astral ones as a surrogate pair (Python's
    /// `ensure_ascii`, PHP's default, .NET's default).
    non_ascii: bool,
    html: HtmlSafe,
}

/// Characters a JSON encoder escapes so that its output is safe inside HTML.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HtmlSafe {
    No,
    /// `<`, `>`, `&`, U+2028 and U+2029 as `\u003c`… (Go's `encoding/json`).
    Go,
    /// Also `'`, `"`, `+` and `` ` `` (.NET's default encoder, PHP's `JSON_HEX_*` flags).
    Wide,
}

impl JsonStyle {
    /// What serde_json writes, and what reports quote with.
    const SERDE: JsonStyle = JsonStyle {
        slash: false,
        non_ascii: false,
        html: HtmlSafe::No,
    };

    /// Every combination: encoders mix them (PHP escapes `/` and non-ASCII, .NET non-ASCII and
    /// the wide HTML set).
    const ALL: [JsonStyle; 12] = {
        let mut all = [JsonStyle::SERDE; 12];
        let mut index = 0;
        while index < 12 {
            all[index] = JsonStyle {
                slash: index & 1 != 0,
                non_ascii: index & 2 != 0,
                html: match index / 4 {
                    0 => HtmlSafe::No,
                    1 => HtmlSafe::Go,
                    _ => HtmlSafe::Wide,
                },
            };
            index += 1;
        }
        all
    };

    fn escapes_as_unicode(self, c: char) -> bool {
        let go = matches!(c, '<' | '>' | '&' | '\u{2028}' | '\u{2029}');
        let wide = go || matches!(c, '\'' | '"' | '+' | '`');
        (self.non_ascii && !c.is_ascii())
            || (self.html == HtmlSafe::Go && go)
            || (self.html == HtmlSafe::Wide && wide)
    }
}

/// `text` as the inside of a JSON string written in `style`.
fn json_escape(text: &str, style: JsonStyle) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if style.escapes_as_unicode(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
            continue;
        }
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '/' if style.slash => out.push_str("\\/"),
            c if c < ' ' => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

/// `text` in HTML, as a page that echoes it escapes it.
fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// https://url.spec.whatwg.org/#fragment-percent-encode-set
const FRAGMENT: &AsciiSet = &CONTROLS.add(b' ').add(b'"').add(b'<').add(b'>').add(b'`');
/// https://url.spec.whatwg.org/#query-percent-encode-set
const QUERY: &AsciiSet = &CONTROLS.add(b' ').add(b'"').add(b'#').add(b'<').add(b'>');
/// The query of a special URL (`http:`, `https:`, `ws:`…).
const SPECIAL_QUERY: &AsciiSet = &QUERY.add(b'\'');
/// https://url.spec.whatwg.org/#path-percent-encode-set
const PATH: &AsciiSet = &QUERY.add(b'?').add(b'^').add(b'`').add(b'{').add(b'}');
/// A path segment, as a URL builder encodes one.
const PATH_SEGMENT: &AsciiSet = &PATH.add(b'/').add(b'%');
/// https://url.spec.whatwg.org/#userinfo-percent-encode-set
const USERINFO: &AsciiSet = &PATH
    .add(b'/')
    .add(b':')
    .add(b';')
    .add(b'=')
    .add(b'@')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'|');
/// https://url.spec.whatwg.org/#component-percent-encode-set
const COMPONENT: &AsciiSet = &USERINFO.add(b'$').add(b'%').add(b'&').add(b'+').add(b',');
/// https://url.spec.whatwg.org/#application-x-www-form-urlencoded-percent-encode-set
const FORM: &AsciiSet = &COMPONENT.add(b'!').add(b'\'').add(b'(').add(b')').add(b'~');
/// All but RFC 3986's unreserved characters (Python's `quote(safe="")`, Go's `QueryEscape`).
const RFC3986: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');
/// JavaScript's `encodeURIComponent`.
const URI_COMPONENT: &AsciiSet = &RFC3986
    .remove(b'!')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// `value` percent-encoded under each set, spaces as `%20` and as `+` (forms, `quote_plus`).
fn percent_encoded(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    for set in [
        FRAGMENT,
        QUERY,
        SPECIAL_QUERY,
        PATH,
        PATH_SEGMENT,
        USERINFO,
        COMPONENT,
        FORM,
        RFC3986,
        URI_COMPONENT,
    ] {
        out.push(utf8_percent_encode(value, set).to_string());
        if value.contains(' ') {
            let words: Vec<String> = value
                .split(' ')
                .map(|word| utf8_percent_encode(word, set).to_string())
                .collect();
            out.push(words.join("+"));
        }
    }
    out
}

/// The base64 characters that `bytes` alone decide, wherever they sit in a longer encoded
/// text: for each of the 3 alignments of their first byte in a 3-byte group, the characters
/// whose 6 bits all come from `bytes` (those at either end share bits with the neighbours).
/// Standard and URL-safe alphabets; padding is never among them. Fragments shorter than
/// [`MIN_BASE64_CHARS`] are left out.
fn base64_fragments(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for engine in [STANDARD_NO_PAD, URL_SAFE_NO_PAD] {
        for before in 0..3usize {
            let mut aligned = vec![0u8; before];
            aligned.extend_from_slice(bytes);
            let encoded = engine.encode(&aligned);
            let first = (8 * before).div_ceil(6);
            let end = (8 * (before + bytes.len()) / 6).min(encoded.len());
            if end >= first + MIN_BASE64_CHARS {
                out.push(encoded[first..end].to_string());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has(value: &str, form: &str) -> bool {
        forms(value).iter().any(|f| f.eq_ignore_ascii_case(form))
    }

    #[test]
    fn json_escapes_of_common_encoders() {
        let value = "a/b\"c<é&>😀";
        assert!(has(value, r#"a/b\"c<é&>😀"#), "serde_json");
        assert!(has(value, r#"a\/b\"c<\u00e9&>\ud83d\ude00"#), "PHP");
        assert!(has(value, r#"a/b\"c<\u00e9&>\ud83d\ude00"#), "Python");
        assert!(has(value, r#"a/b\"c\u003cé\u0026\u003e😀"#), "Go");
        assert!(
            has(value, r#"a/b\u0022c\u003C\u00E9\u0026\u003E\uD83D\uDE00"#),
            ".NET"
        );
    }

    #[test]
    fn forms_quoted_again_by_a_report() {
        assert!(has("a/b", r#"a\\/b"#));
        assert!(has("a\"b", r#"a\\\"b"#));
        assert!(has("a\"b", r#"a\\\\\\\"b"#));
    }

    #[test]
    fn percent_encodings_of_every_url_part_and_forms() {
        let value = "p@ss+w0rd! {x}/é";
        for form in [
            "p@ss+w0rd!%20%7Bx%7D/%C3%A9",         // path
            "p%40ss+w0rd!%20%7Bx%7D%2F%C3%A9",     // userinfo
            "p@ss+w0rd!%20{x}/%C3%A9",             // query
            "p%40ss%2Bw0rd%21+%7Bx%7D%2F%C3%A9",   // form
            "p%40ss%2bw0rd%21%20%7bx%7d%2f%c3%a9", // RFC 3986, lower-case hex
        ] {
            assert!(has(value, form), "{form}");
        }
    }

    #[test]
    fn base64_at_every_alignment_inside_a_longer_text() {
        let value = "wJalrXUtnFEMI/K7MDENG";
        let all = forms(value);
        for before in ["", "x", "xy"] {
            for engine in [STANDARD_NO_PAD, URL_SAFE_NO_PAD] {
                let encoded = engine.encode(format!("{before}{value}--"));
                // 21 bytes are 28 characters; at most one at each end is shared.
                assert!(
                    all.iter()
                        .any(|form| form.len() >= 26 && encoded.contains(form.as_str())),
                    "{encoded}"
                );
            }
        }
    }

    #[test]
    fn short_values_have_no_base64_form() {
        assert!(base64_fragments(b"abcde").is_empty());
        // Each of the 3 alignments, in each of the 2 alphabets.
        assert_eq!(base64_fragments(b"abcdefg").len(), 6);
    }
}
