//! Durations as people write them in config and spec files: a number and a unit, like `500ms`,
//! `20s`, `1.5s`, `2m` or `1h`.
//!
//! The number may have a fractional part (`1.5s`, `0.25ms`); there are no spaces, no signs and no
//! compound forms (`1m30s`), so every duration has one obvious spelling. Parsing is exact: the
//! number is read as a decimal into whole nanoseconds, never through a float, so `0.1s` is exactly
//! 100 ms. [`format_duration`] writes the shortest of those spellings and its output parses back
//! to the same duration.
//!
//! No duration is longer than [`MAX_DURATION`], a year: whatever a run adds one to (the time a
//! test started, the time an item arrived) gives a time it can represent, and no test runs that
//! long.

use std::time::Duration;

/// The longest duration a spec, `streamspec.toml` or a flag may give: 8760h (365 days).
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 60 * 60);

/// The units, longest suffix first so `ms` is not read as `m` followed by junk.
const UNITS: [(&str, u128); 4] = [
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Parses `500ms`, `20s`, `1.5s`, `2m`, `1h`. The error is a sentence for the user, naming the
/// text and showing what would have been accepted.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || {
        format!(
            "`{text}` is not a duration: write a number and a unit (ms, s, m or h) with no space, like `500ms`, `20s`, `1.5s` or `2m`"
        )
    };
    let digits_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits_end);
    let Some(&(_, unit_nanos)) = UNITS.iter().find(|(name, _)| *name == unit) else {
        return Err(invalid());
    };
    let (whole, fraction) = match number.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (number, ""),
    };
    // Both sides of a decimal point must have digits: `1.` and `.5` are more likely typos than
    // deliberate, and every other tool spells them `1` and `0.5`.
    if whole.is_empty() || (number.contains('.') && fraction.is_empty()) || fraction.contains('.') {
        return Err(invalid());
    }
    let too_long = || {
        format!(
            "`{text}` is too long: a duration is at most {} (365 days)",
            format_duration(MAX_DURATION)
        )
    };
    let whole: u128 = whole.parse().map_err(|_| too_long())?;
    let mut nanos = whole
        .checked_mul(unit_nanos)
        .filter(|&nanos| nanos <= MAX_DURATION.as_nanos())
        .ok_or_else(too_long)?;
    // Each fractional digit is worth a tenth of the one before; digits below a nanosecond would
    // be silently lost, so they are refused instead.
    let mut place = unit_nanos;
    for digit in fraction.bytes() {
        let value = u128::from(digit - b'0');
        if place % 10 != 0 {
            if value != 0 {
                return Err(format!(
                    "`{text}` is more precise than a nanosecond, the finest duration there is"
                ));
            }
            continue;
        }
        place /= 10;
        nanos += value * place;
    }
    if nanos > MAX_DURATION.as_nanos() {
        return Err(too_long());
    }
    let secs = u64::try_from(nanos / 1_000_000_000).map_err(|_| too_long())?;
    // The remainder is below 10^9, so it fits a u32.
    let subsec = (nanos % 1_000_000_000) as u32;
    Ok(Duration::new(secs, subsec))
}

/// Writes a duration in the largest unit that holds it exactly when it is whole minutes or hours
/// (`2m`, `1h`), else in seconds from one second up (`1.5s`, `90s`) and in milliseconds below
/// (`500ms`, `0.25ms`). Zero is `0s`.
pub fn format_duration(d: Duration) -> String {
    let nanos = d.as_nanos();
    if nanos == 0 {
        return "0s".to_string();
    }
    let (unit, unit_nanos) = if nanos.is_multiple_of(3_600_000_000_000) {
        ("h", 3_600_000_000_000)
    } else if nanos.is_multiple_of(60_000_000_000) {
        ("m", 60_000_000_000)
    } else if nanos >= 1_000_000_000 {
        ("s", 1_000_000_000)
    } else {
        ("ms", 1_000_000)
    };
    let whole = nanos / unit_nanos;
    let rest = nanos % unit_nanos;
    if rest == 0 {
        return format!("{whole}{unit}");
    }
    // The remainder written with as many digits as the unit has below it, then trailing zeros
    // dropped: 500_000_000 of 10^9 → "500000000" → "5".
    let width = unit_nanos.ilog10() as usize;
    let fraction = format!("{rest:0width$}");
    format!("{whole}.{}{unit}", fraction.trim_end_matches('0'))
}

/// A measured duration for people to read, rounded: `0.35ms`, `101ms`, `1.27s`. Bounds written in
/// a spec use [`format_duration`], which is exact.
pub fn format_measured(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 1.0 {
        format!("{ms:.2}ms")
    } else if ms < 1000.0 {
        format!("{ms:.0}ms")
    } else {
        format!("{:.2}s", ms / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measured_durations_are_rounded() {
        assert_eq!(format_measured(Duration::from_micros(350)), "0.35ms");
        assert_eq!(format_measured(Duration::from_micros(101_678)), "102ms");
        assert_eq!(format_measured(Duration::from_millis(1274)), "1.27s");
    }

    #[test]
    fn parses_each_unit_and_fractions() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("20s"), Ok(Duration::from_secs(20)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("0.1s"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_duration("0.25ms"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("1.000000000s"), Ok(Duration::from_secs(1)));
    }

    #[test]
    fn refuses_anything_else_with_a_readable_reason() {
        for text in [
            "20 sec", "20", "s", "", "1.s", ".5s", "1.2.3s", "-1s", "20S", "1m30s", " 1s", "1d",
        ] {
            let error = parse_duration(text).expect_err(text);
            assert!(error.contains(&format!("`{text}`")), "{error}");
        }
        assert_eq!(
            parse_duration("20 sec"),
            Err("`20 sec` is not a duration: write a number and a unit (ms, s, m or h) with no space, like `500ms`, `20s`, `1.5s` or `2m`".to_string())
        );
        assert!(
            parse_duration("0.0000000001s")
                .unwrap_err()
                .contains("nanosecond")
        );
        assert!(
            parse_duration("99999999999999999999999999h")
                .unwrap_err()
                .contains("too long")
        );
    }

    #[test]
    fn a_year_is_the_longest() {
        assert_eq!(parse_duration("8760h"), Ok(MAX_DURATION));
        assert_eq!(parse_duration("31536000s"), Ok(MAX_DURATION));
        assert_eq!(format_duration(MAX_DURATION), "8760h");
        for text in [
            "8761h",
            "31536000.000000001s",
            "525601m",
            "99999999999h",
            "94522879700260684295381835397713.9h",
        ] {
            assert_eq!(
                parse_duration(text),
                Err(format!(
                    "`{text}` is too long: a duration is at most 8760h (365 days)"
                ))
            );
        }
    }

    #[test]
    fn formats_in_the_natural_unit() {
        assert_eq!(format_duration(Duration::from_millis(500)), "500ms");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_duration(Duration::from_secs(2)), "2s");
        assert_eq!(format_duration(Duration::from_secs(120)), "2m");
        assert_eq!(format_duration(Duration::from_secs(90)), "90s");
        assert_eq!(format_duration(Duration::from_secs(7200)), "2h");
        assert_eq!(format_duration(Duration::from_micros(250)), "0.25ms");
        assert_eq!(
            format_duration(Duration::from_nanos(1_000_000_001)),
            "1.000000001s"
        );
        assert_eq!(format_duration(Duration::ZERO), "0s");
    }

    #[test]
    fn formatting_round_trips() {
        for nanos in [
            1,
            999,
            1_000_000,
            1_500_000_000,
            60_000_000_000,
            61_000_000_123,
        ] {
            let d = Duration::from_nanos(nanos);
            assert_eq!(parse_duration(&format_duration(d)), Ok(d));
        }
    }
}
