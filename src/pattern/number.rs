//! Numbers compared exactly: a JSON number (an integer as `i64` or `u64`, anything else as
//! `f64`), a bound written in a pattern, and an integer the proto3 JSON mapping writes as a
//! string (`"-42"`, gRPC's 64-bit integers) all compare without rounding, so that
//! `9007199254740993` (2^53 + 1) is not taken for `9007199254740992`, as it would be as `f64`.

use std::cmp::Ordering;

use serde_json::Number;

/// A number as it is compared: integers exactly, the rest as `f64`.
#[derive(Debug, Clone, Copy)]
pub enum Exact {
    Integer(i128),
    Float(f64),
}

impl Exact {
    pub fn of(number: &Number) -> Exact {
        if let Some(n) = number.as_i64() {
            Exact::Integer(i128::from(n))
        } else if let Some(n) = number.as_u64() {
            Exact::Integer(i128::from(n))
        } else {
            Exact::Float(number.as_f64().unwrap_or(f64::NAN))
        }
    }

    /// An integer written as a string the way the proto3 JSON mapping writes 64-bit integers:
    /// decimal digits with an optional `-`, no `+`, no leading zero, no `-0`. Anything else
    /// (`"007"`, `"1e3"`, `" 1"`) is a string and no number.
    pub fn of_integer_text(text: &str) -> Option<Exact> {
        let digits = text.strip_prefix('-').unwrap_or(text);
        let canonical = !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && (digits == "0" || !digits.starts_with('0'))
            && text != "-0";
        if !canonical {
            return None;
        }
        text.parse::<i128>().ok().map(Exact::Integer)
    }
}

impl Exact {
    /// Whether the number is whole: `integer` matches it.
    pub fn is_integer(self) -> bool {
        match self {
            Exact::Integer(_) => true,
            Exact::Float(n) => n.fract() == 0.0,
        }
    }
}

impl PartialEq for Exact {
    fn eq(&self, other: &Exact) -> bool {
        self.partial_cmp(other) == Some(Ordering::Equal)
    }
}

impl PartialOrd for Exact {
    fn partial_cmp(&self, other: &Exact) -> Option<Ordering> {
        match (*self, *other) {
            (Exact::Integer(a), Exact::Integer(b)) => Some(a.cmp(&b)),
            (Exact::Float(a), Exact::Float(b)) => a.partial_cmp(&b),
            (Exact::Integer(a), Exact::Float(b)) => integer_vs_float(a, b),
            (Exact::Float(a), Exact::Integer(b)) => integer_vs_float(b, a).map(Ordering::reverse),
        }
    }
}

/// `integer` against `float` with no rounding: the float's whole part is exact as an `i128`
/// (a float of magnitude below 2^127 that is whole is an integer `i128` holds), and its
/// fraction breaks a tie.
fn integer_vs_float(integer: i128, float: f64) -> Option<Ordering> {
    const LIMIT: f64 = 170_141_183_460_469_231_731_687_303_715_884_105_728.0; // 2^127
    if float.is_nan() {
        return None;
    }
    if float >= LIMIT {
        return Some(Ordering::Less);
    }
    if float < -LIMIT {
        return Some(Ordering::Greater);
    }
    let whole = float.trunc();
    match integer.cmp(&(whole as i128)) {
        Ordering::Equal => 0.0f64.partial_cmp(&(float - whole)),
        unequal => Some(unequal),
    }
}

/// A number as a spec writes it: an integer in full (`9007199254740993`), a float in its
/// shortest form, whole floats without `.0` below 10^15 (`1000` for `1e3`).
pub fn format_json_number(number: &Number) -> String {
    match Exact::of(number) {
        Exact::Integer(n) => n.to_string(),
        Exact::Float(n) => super::format_number(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(text: &str) -> Exact {
        Exact::of(&serde_json::from_str::<Number>(text).expect("a JSON number"))
    }

    #[test]
    fn integers_beyond_two_to_the_53_stay_apart() {
        assert!(number("9007199254740993") > number("9007199254740992"));
        assert!(number("18446744073709551615") > number("18446744073709551614"));
        assert!(number("-9223372036854775808") < number("-9223372036854775807"));
        // As f64, 2^53 + 1 is 2^53: the integer is above the float.
        assert!(number("9007199254740993") > number("9007199254740992.0"));
        assert!(number("9007199254740992") == number("9007199254740992.0"));
    }

    #[test]
    fn integers_and_floats_compare_by_value() {
        assert!(number("1") == number("1.0"));
        assert!(number("1") < number("1.5"));
        assert!(number("-1") > number("-1.5"));
        assert!(number("2") > number("1.5"));
        assert!(number("0") > number("-0.5"));
        assert!(number("0") < number("0.5"));
        assert!(number("-170141183460469231731687303715884105728") < number("1e300"));
        assert!(number("18446744073709551615") > number("-1e300"));
    }

    #[test]
    fn only_canonical_decimal_integers_are_numbers_in_strings() {
        assert_eq!(Exact::of_integer_text("-42"), Some(Exact::Integer(-42)));
        assert_eq!(Exact::of_integer_text("0"), Some(Exact::Integer(0)));
        assert_eq!(
            Exact::of_integer_text("18446744073709551615"),
            Some(Exact::Integer(18_446_744_073_709_551_615))
        );
        for text in [
            "", "-", "-0", "007", "+1", "1.0", "1e3", " 1", "1 ", "0x10", "NaN",
        ] {
            assert_eq!(Exact::of_integer_text(text), None, "{text:?}");
        }
    }

    #[test]
    fn numbers_are_written_in_full() {
        let format = |text: &str| {
            format_json_number(&serde_json::from_str::<Number>(text).expect("a JSON number"))
        };
        assert_eq!(format("9007199254740993"), "9007199254740993");
        assert_eq!(format("-42"), "-42");
        assert_eq!(format("1.50"), "1.5");
        assert_eq!(format("1e3"), "1000");
    }
}
