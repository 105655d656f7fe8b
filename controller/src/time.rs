//! One time model for the whole program (jiff): timestamps, RFC 3339, durations. Every
//! duration or time that comes from a person (flags, the admin API) is parsed here, with
//! the same units everywhere, checked against a sane range, and never overflows.

use std::time::Duration;

use jiff::Timestamp;

/// The longest duration spa accepts from a person: a year. Longer ones are mistakes (and
/// would overflow clocks somewhere).
pub const MAX_DURATION: Duration = Duration::from_secs(366 * 86_400);

/// Units of [`parse_duration`], with their length in milliseconds.
const UNITS: [(&str, u64); 6] = [
    ("ms", 1),
    ("s", 1_000),
    ("m", 60_000),
    ("h", 3_600_000),
    ("d", 86_400_000),
    ("w", 7 * 86_400_000),
];

/// Parses a positive duration of at most [`MAX_DURATION`]: a number and a unit, `ms`,
/// `s`, `m`, `h`, `d` (24 hours) or `w` (7 days), e.g. `90s`, `5m`, `1d`; a bare number
/// is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let bad = || {
        format!(
            "`{text}` is not a duration: a number and a unit (ms, s, m, h, d, w), e.g. 90s, 5m, 2h, 1d"
        )
    };
    let number: u64 = number.parse().map_err(|_| bad())?;
    let scale = match unit {
        "" => 1_000,
        unit => UNITS
            .iter()
            .find(|(name, _)| *name == unit)
            .map(|(_, ms)| *ms)
            .ok_or_else(bad)?,
    };
    let too_long = || {
        format!(
            "`{text}` is too long: at most {} days",
            MAX_DURATION.as_secs() / 86_400
        )
    };
    let millis = number.checked_mul(scale).ok_or_else(too_long)?;
    let duration = Duration::from_millis(millis);
    if duration.is_zero() {
        return Err(format!("`{text}`: a duration must be positive"));
    }
    if duration > MAX_DURATION {
        return Err(too_long());
    }
    Ok(duration)
}

/// Now, from the system clock.
/// A duration for people: `45 s`, `17 min`, `1 h 5 min`.
pub fn human_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    match seconds {
        0..60 => format!("{seconds} s"),
        60..3600 => format!("{} min", seconds.div_ceil(60)),
        _ => format!("{} h {} min", seconds / 3600, (seconds % 3600) / 60),
    }
}

pub fn now() -> Timestamp {
    Timestamp::now()
}

/// `2026-11-22T10:45:00Z`: UTC, whole seconds.
pub fn rfc3339(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Parses a time given by a person: an RFC 3339 time (`2026-11-22T18:00:00Z`, or with an
/// offset) or a duration from `now` (as [`parse_duration`]). Impossible dates
/// (`2027-02-31`) are refused, not rolled over.
pub fn parse_time(text: &str, now: Timestamp) -> Result<Timestamp, String> {
    let text = text.trim();
    if let Ok(duration) = parse_duration(text) {
        let span = jiff::SignedDuration::try_from(duration).map_err(|e| e.to_string())?;
        return now
            .checked_add(span)
            .map_err(|_| format!("`{text}` from now is past the end of time"));
    }
    text.parse::<Timestamp>().map_err(|error| {
        format!(
            "`{text}` is neither a time (2026-11-22T18:00:00Z) nor a duration (90s, 30m, 2h, 1d): {error}"
        )
    })
}

/// The back-off after `failures` failures in a row: `base`, doubled at each next one,
/// capped (no overflow whatever the count).
pub fn backoff(base: Duration, failures: u32) -> Duration {
    base.saturating_mul(2u32.saturating_pow(failures.saturating_sub(1).min(10)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_and_is_capped() {
        let base = Duration::from_secs(60);
        assert_eq!(backoff(base, 1), Duration::from_secs(60));
        assert_eq!(backoff(base, 2), Duration::from_secs(120));
        assert_eq!(backoff(base, 3), Duration::from_secs(240));
        assert_eq!(backoff(base, 11), backoff(base, u32::MAX));
        assert_eq!(backoff(Duration::MAX, 5), Duration::MAX);
    }

    #[test]
    fn durations_have_one_grammar() {
        let cases = [
            ("90s", Ok(90_000)),
            ("90", Ok(90_000)),
            ("250ms", Ok(250)),
            ("5m", Ok(300_000)),
            ("2h", Ok(7_200_000)),
            ("1d", Ok(86_400_000)),
            ("2w", Ok(14 * 86_400_000)),
            ("0s", Err("positive")),
            ("-5s", Err("not a duration")),
            ("5y", Err("not a duration")),
            ("1.5h", Err("not a duration")),
            ("367d", Err("too long")),
            ("99999999999999999999h", Err("not a duration")),
            ("18446744073709551615w", Err("too long")),
            ("", Err("not a duration")),
        ];
        for (text, expected) in cases {
            let got = parse_duration(text).map(|d| d.as_millis() as u64);
            match (got, expected) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{text}"),
                (Err(error), Err(part)) => assert!(error.contains(part), "{text}: {error}"),
                (got, want) => panic!("{text}: {got:?} instead of {want:?}"),
            }
        }
    }

    #[test]
    fn times_are_checked_dates() {
        let now: Timestamp = "2026-11-22T10:00:00Z".parse().unwrap();
        assert_eq!(
            rfc3339(parse_time("2026-11-22T18:00:00Z", now).unwrap()),
            "2026-11-22T18:00:00Z"
        );
        assert_eq!(
            rfc3339(parse_time("2h", now).unwrap()),
            "2026-11-22T12:00:00Z"
        );
        assert_eq!(
            rfc3339(parse_time("2026-11-22T19:00:00+01:00", now).unwrap()),
            "2026-11-22T18:00:00Z"
        );
        for bad in [
            "2027-02-31T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "tomorrow",
            "9999999d",
        ] {
            assert!(parse_time(bad, now).is_err(), "{bad}");
        }
    }
}
