//! The cron evaluator against an oracle: croner, a maintained cron crate with its own
//! calendar (on chrono). Random EventBridge expressions, written once for spa and once in
//! croner's syntax, and random start times from 1968 to 2201, must give the same next
//! firings.
//!
//! croner understands every EventBridge form; the translation adds a seconds field (always
//! `0`), gives names as numbers, and closes open years at 2199 (`*` is `1970-2199`, `a/s` is
//! `a-2199/s`) because croner knows no year limit. Day-of-week numbers are EventBridge's
//! (1-7, 1 = SUN) in croner's Quartz mode. One form has no croner equivalent: `L` alone in
//! day-of-week (Saturday) is given to it as `7`; `next.rs` checks it against a day-by-day
//! search and a hand-computed firing.

use chrono::{TimeZone, Utc};
use croner::parser::{CronParser, Seconds, Year};
use proptest::prelude::*;
use spa_schema::schedule::Schedule;

/// One field, as EventBridge and as croner read it.
#[derive(Debug, Clone)]
struct Field {
    eventbridge: String,
    croner: String,
}

impl Field {
    fn same(text: String) -> Field {
        Field {
            eventbridge: text.clone(),
            croner: text,
        }
    }
}

/// What a plain field (no `?`, `L`, `W`, `#`) accepts.
struct Kind {
    min: u32,
    max: u32,
    names: &'static [&'static str],
    steps: bool,
    /// croner has no year limit: open-ended forms are closed at `max`.
    year: bool,
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

#[rustfmt::skip]
const MINUTES: Kind = Kind { min: 0, max: 59, names: &[], steps: true, year: false };
#[rustfmt::skip]
const HOURS: Kind = Kind { min: 0, max: 23, names: &[], steps: true, year: false };
#[rustfmt::skip]
const DAY_OF_MONTH: Kind = Kind { min: 1, max: 31, names: &[], steps: true, year: false };
#[rustfmt::skip]
const MONTH: Kind = Kind { min: 1, max: 12, names: &MONTHS, steps: true, year: false };
#[rustfmt::skip]
const DAY_OF_WEEK: Kind = Kind { min: 1, max: 7, names: &DAYS, steps: false, year: false };
#[rustfmt::skip]
const YEAR: Kind = Kind { min: 1970, max: 2199, names: &[], steps: true, year: true };

/// A number, or for months and days sometimes its name, in any case (croner gets the number).
fn value(kind: &'static Kind) -> impl Strategy<Value = Field> {
    (kind.min..=kind.max, 0..3u8).prop_map(move |(value, form)| {
        let name = kind.names.get((value - kind.min) as usize);
        let eventbridge = match (name, form) {
            (Some(name), 1) => name.to_string(),
            (Some(name), 2) => name.to_lowercase(),
            _ => value.to_string(),
        };
        Field {
            eventbridge,
            croner: value.to_string(),
        }
    })
}

/// `a-b`, with a <= b.
fn range(kind: &'static Kind) -> BoxedStrategy<Field> {
    (value(kind), value(kind))
        .prop_map(|(a, b)| {
            let (low, high) = if a.croner.parse::<u32>().ok() <= b.croner.parse::<u32>().ok() {
                (a, b)
            } else {
                (b, a)
            };
            Field {
                eventbridge: format!("{}-{}", low.eventbridge, high.eventbridge),
                croner: format!("{}-{}", low.croner, high.croner),
            }
        })
        .boxed()
}

/// One item of a list: a value, a range, or a stepped value or range.
fn element(kind: &'static Kind) -> BoxedStrategy<Field> {
    if !kind.steps {
        return prop_oneof![2 => value(kind), 1 => range(kind)].boxed();
    }
    let step = || 1..=(kind.max - kind.min).max(1);
    // `a/s` runs from a to the end of the field.
    let from = (kind.min..=kind.max, step()).prop_map(move |(start, step)| Field {
        eventbridge: format!("{start}/{step}"),
        croner: if kind.year {
            format!("{start}-{}/{step}", kind.max)
        } else {
            format!("{start}/{step}")
        },
    });
    let stepped_range = (range(kind), step()).prop_map(|(range, step)| Field {
        eventbridge: format!("{}/{step}", range.eventbridge),
        croner: format!("{}/{step}", range.croner),
    });
    prop_oneof![4 => value(kind), 2 => range(kind), 1 => from, 1 => stepped_range].boxed()
}

/// A whole plain field: `*`, `*/s`, or a list of one to three items.
fn plain(kind: &'static Kind) -> BoxedStrategy<Field> {
    let every = if kind.year {
        format!("{}-{}", kind.min, kind.max)
    } else {
        "*".to_string()
    };
    let all = Just(Field {
        eventbridge: "*".to_string(),
        croner: every.clone(),
    });
    let list = proptest::collection::vec(element(kind), 1..=3).prop_map(|items| Field {
        eventbridge: items
            .iter()
            .map(|i| i.eventbridge.as_str())
            .collect::<Vec<_>>()
            .join(","),
        croner: items
            .iter()
            .map(|i| i.croner.as_str())
            .collect::<Vec<_>>()
            .join(","),
    });
    if !kind.steps {
        return prop_oneof![1 => all, 4 => list].boxed();
    }
    let every_step = (1..=(kind.max - kind.min).max(1)).prop_map(move |step| Field {
        eventbridge: format!("*/{step}"),
        croner: format!("{every}/{step}"),
    });
    prop_oneof![1 => all, 1 => every_step, 4 => list].boxed()
}

fn day_of_month() -> BoxedStrategy<Field> {
    prop_oneof![
        6 => plain(&DAY_OF_MONTH),
        1 => Just(Field::same("L".to_string())),
        1 => Just(Field::same("LW".to_string())),
        2 => (1..=31u32).prop_map(|day| Field::same(format!("{day}W"))),
    ]
    .boxed()
}

fn day_of_week() -> BoxedStrategy<Field> {
    let last = value(&DAY_OF_WEEK).prop_map(|day| Field {
        eventbridge: format!("{}L", day.eventbridge),
        croner: format!("{}L", day.croner),
    });
    let nth = (value(&DAY_OF_WEEK), 1..=5u32).prop_map(|(day, nth)| Field {
        eventbridge: format!("{}#{nth}", day.eventbridge),
        croner: format!("{}#{nth}", day.croner),
    });
    let saturday = Just(Field {
        eventbridge: "L".to_string(),
        croner: "7".to_string(),
    });
    prop_oneof![6 => plain(&DAY_OF_WEEK), 2 => last, 2 => nth, 1 => saturday].boxed()
}

fn every_year() -> Field {
    Field {
        eventbridge: "*".to_string(),
        croner: format!("{}-{}", YEAR.min, YEAR.max),
    }
}

/// An EventBridge cron expression and the same schedule as a croner pattern.
fn expression() -> impl Strategy<Value = (String, String)> {
    let question = Just(Field::same("?".to_string()));
    // Exactly one of the day fields is `?`.
    let days = prop_oneof![
        (day_of_month(), question.clone()),
        (question, day_of_week()),
    ];
    (
        plain(&MINUTES),
        plain(&HOURS),
        days,
        plain(&MONTH),
        // Mostly `*`, as windows are written, so that most expressions fire.
        prop_oneof![2 => Just(every_year()), 1 => plain(&YEAR)],
    )
        .prop_map(|(minutes, hours, (dom, dow), month, year)| {
            let fields = [&minutes, &hours, &dom, &month, &dow, &year];
            let eventbridge: Vec<&str> = fields.iter().map(|f| f.eventbridge.as_str()).collect();
            let croner: Vec<&str> = fields.iter().map(|f| f.croner.as_str()).collect();
            (
                format!("cron({})", eventbridge.join(" ")),
                format!("0 {}", croner.join(" ")),
            )
        })
}

/// Seconds since the epoch, from 1968 to 2201, more often in the decades spa will run, and
/// often on the edge of a day, a month or a year.
fn start() -> impl Strategy<Value = i64> {
    let edge = (
        1968..=2201i32,
        1..=12u32,
        prop::sample::select(vec![1, 27, 28, 29, 30, 31]),
        prop::sample::select(vec![0, 23]),
        prop::sample::select(vec![0, 59]),
        prop::sample::select(vec![0, 59]),
    )
        .prop_filter_map("a day the month has", |(y, mo, d, h, mi, s)| {
            Some(
                Utc.with_ymd_and_hms(y, mo, d, h, mi, s)
                    .single()?
                    .timestamp(),
            )
        });
    prop_oneof![
        1 => -63_158_400i64..7_320_000_000,
        2 => 1_735_689_600i64..2_524_608_000,
        1 => edge,
    ]
}

fn oracle(pattern: &str) -> croner::Cron {
    CronParser::builder()
        .seconds(Seconds::Required)
        .year(Year::Required)
        // Day-of-week 1-7 = SUN-SAT, as EventBridge (and Quartz) number them.
        .alternative_weekdays(true)
        // `a/s`: from a to the end of the field, as EventBridge reads it.
        .sloppy_ranges(true)
        .build()
        .parse(pattern)
        .unwrap_or_else(|error| panic!("croner refuses `{pattern}`: {error}"))
}

fn oracle_next_after(cron: &croner::Cron, after: i64) -> Option<i64> {
    let after = Utc.timestamp_opt(after, 0).single()?;
    let next = cron.find_next_occurrence(&after, false).ok()?;
    Some(next.timestamp())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    /// The next three firings after a random time.
    #[test]
    fn next_after_agrees_with_croner((eventbridge, pattern) in expression(), after in start()) {
        let schedule = Schedule::parse(&eventbridge)
            .unwrap_or_else(|error| panic!("`{eventbridge}` is refused: {error}"));
        let croner = oracle(&pattern);
        let mut at = after;
        for _ in 0..3 {
            let next = schedule.next_after(at);
            prop_assert_eq!(
                next,
                oracle_next_after(&croner, at),
                "`{}` (croner `{}`) after {}", eventbridge, pattern, at
            );
            match next {
                Some(next) => at = next,
                None => break,
            }
        }
    }
}
