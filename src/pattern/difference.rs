//! Long texts that differ: a mismatch that says where the two first differ and how long each
//! is, and shows the same window of both around that place, rather than the start of each
//! (which is all a cut value shows, and where two long texts are most often the same).

use super::Mismatch;
use crate::render::quote;

/// Quoted texts up to this long are shown whole in a mismatch.
pub const SHORT: usize = 80;

/// How many characters of each text a difference shows.
const WINDOW: usize = 60;

/// The mismatch of an expected text and a different one found: both quoted when short; when
/// either is long, where they first differ (`the strings differ at character 1,201`), their
/// lengths, and the window of each around that place. `noun` is what they are, in the plural.
pub fn text_mismatch(noun: &str, expected: &str, found: &str) -> Mismatch {
    let (expected_quoted, found_quoted) = (quote(expected), quote(found));
    if expected_quoted.chars().count() <= SHORT && found_quoted.chars().count() <= SHORT {
        return Mismatch::new(expected_quoted, found_quoted);
    }
    let same = expected
        .chars()
        .zip(found.chars())
        .take_while(|(a, b)| a == b)
        .count();
    let lead = format!(
        "the {noun} differ at character {} (expected {} characters, found {})",
        grouped(same + 1),
        grouped(expected.chars().count()),
        grouped(found.chars().count())
    );
    // Cut where a report shows them, after masking: see `crate::excerpt`.
    let (expected, found) = crate::excerpt::difference(&expected_quoted, &found_quoted, WINDOW);
    Mismatch::new(expected, found).with_lead(lead)
}

/// A count with its thousands grouped: `419,894`.
pub fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(text: &str) -> String {
        crate::excerpt::cut(text)
    }

    #[test]
    fn short_texts_are_quoted_whole() {
        let mismatch = text_mismatch("strings", "abc", "abd");
        assert_eq!(mismatch.to_string(), r#"expected "abc", found "abd""#);
    }

    #[test]
    fn long_texts_show_where_they_differ() {
        let expected = format!("{}B{}", "A".repeat(1_200), "A".repeat(50));
        let found = format!("{}C{}", "A".repeat(1_200), "A".repeat(49));
        let mismatch = text_mismatch("strings", &expected, &found).within(".text");
        assert_eq!(
            shown(&mismatch.to_string()),
            format!(
                r#"at `.text`: the strings differ at character 1,201 (expected 1,251 characters, found 1,250): expected "…{a}B{b}…", found "…{a}C{b}…""#,
                a = "A".repeat(20),
                b = "A".repeat(39),
            )
        );
    }

    #[test]
    fn counts_are_grouped_by_thousands() {
        for (n, text) in [
            (0, "0"),
            (999, "999"),
            (1_000, "1,000"),
            (419_894, "419,894"),
        ] {
            assert_eq!(grouped(n), text);
        }
        assert_eq!(grouped(1_234_567), "1,234,567");
    }
}
