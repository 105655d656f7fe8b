//! Amazon EventBridge schedule expressions (`cron(...)` and `rate(...)`), as written in
//! `automation.maintenance_window_expression`: parse, validate with messages a person editing
//! YAML can act on, and compute the next firing time.
//!
//! Pure: no clock, no I/O. The caller passes the reference time. Everything is UTC, because
//! EventBridge evaluates rule schedules in UTC. This file parses; `next` evaluates.

use std::fmt;

mod next;

/// The first and last years EventBridge accepts in the year field.
const MIN_YEAR: u32 = 1970;
const MAX_YEAR: u32 = 2199;
/// Day-of-week numbers as EventBridge writes them.
const SUNDAY: u32 = 1;
const SATURDAY: u32 = 7;

const MONTH_NAMES: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAY_NAMES: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
const CRON_FIELDS_HINT: &str =
    "EventBridge cron has 6 fields: minutes hours day-of-month month day-of-week year";
const EXAMPLES_HINT: &str = "write e.g. `cron(0 18 ? * SAT *)` or `rate(7 days)`";
const RATE_UNITS_HINT: &str = "units are minute, minutes, hour, hours, day, days";

/// A valid schedule expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// `rate(value unit)`: fires every `every_seconds`, counted from when the rule was created.
    Rate { every_seconds: u64 },
    /// `cron(minutes hours day-of-month month day-of-week year)`.
    Cron(Cron),
}

/// A valid cron expression, reduced to the sets of values it fires on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cron {
    minutes: Bits,
    hours: Bits,
    days: Days,
    months: Bits,
    /// Stored as offsets from 1970 so that 1970-2199 fits in the 256-bit set.
    years: Bits,
}

/// Why an expression is not a valid EventBridge schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleError {
    pub message: String,
    pub hint: Option<String>,
    /// Byte offset inside the expression where the problem starts; always on a character
    /// boundary, and `offset + len` stays inside the expression unless the expression is empty.
    pub offset: usize,
    /// Byte length of the faulty part, at least 1.
    pub len: usize,
}

impl fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.hint {
            Some(hint) => write!(f, "{}; hint: {hint}", self.message),
            None => write!(f, "{}", self.message),
        }
    }
}

impl std::error::Error for ScheduleError {}

impl std::str::FromStr for Schedule {
    type Err = ScheduleError;

    fn from_str(expression: &str) -> Result<Self, Self::Err> {
        Schedule::parse(expression)
    }
}

impl Schedule {
    /// Parses an EventBridge schedule expression, rejecting what EventBridge would reject.
    pub fn parse(expression: &str) -> Result<Schedule, ScheduleError> {
        let trimmed = expression.trim();
        if trimmed.is_empty() {
            let message = "schedule expression is empty";
            return Err(error(message, 0, expression.len()).hint(EXAMPLES_HINT));
        }
        if trimmed.len() != expression.len() {
            let start = expression.len() - expression.trim_start().len();
            let (offset, len) = if start > 0 {
                (0, start)
            } else {
                let end = expression.trim_end().len();
                (end, expression.len() - end)
            };
            return Err(
                error("schedule expression has whitespace around it", offset, len)
                    .hint(format!("write `{trimmed}`")),
            );
        }
        let Some(open) = expression.find('(') else {
            let hint = if expression.starts_with(|c: char| c.is_ascii_digit() || c == '*')
                && expression.contains(' ')
            {
                format!("wrap cron fields in `cron(...)`: `cron({expression})`")
            } else {
                EXAMPLES_HINT.to_string()
            };
            return Err(error(
                format!(
                    "`{}` is not a `cron(...)` or `rate(...)` expression",
                    show(expression)
                ),
                0,
                expression.len(),
            )
            .hint(hint));
        };
        let keyword = &expression[..open];
        let is_cron = match keyword {
            "cron" => true,
            "rate" => false,
            _ => return Err(keyword_error(keyword, open)),
        };
        let inner_start = open + 1;
        let Some(close) = expression[inner_start..].find(')').map(|i| inner_start + i) else {
            let last = expression.char_indices().next_back().map_or(0, |(i, _)| i);
            return Err(error("missing closing `)`", last, expression.len() - last)
                .hint(format!("write `{expression})`")));
        };
        if close + 1 != expression.len() {
            return Err(error(
                format!("unexpected `{}` after `)`", show(&expression[close + 1..])),
                close + 1,
                expression.len() - close - 1,
            )
            .hint(format!("write `{}`", &expression[..=close])));
        }
        let inner = &expression[inner_start..close];
        if let Some((i, c)) = inner
            .char_indices()
            .find(|&(_, c)| c.is_whitespace() && c != ' ')
        {
            return Err(error(
                format!(
                    "unexpected whitespace `{}` in the expression",
                    c.escape_default()
                ),
                inner_start + i,
                c.len_utf8(),
            )
            .hint("separate fields with plain spaces"));
        }
        let parts: Vec<(usize, &str)> = split(inner, inner_start, ' ')
            .filter(|(_, part)| !part.is_empty())
            .collect();
        if is_cron {
            parse_cron(&parts, open, close).map(Schedule::Cron)
        } else {
            parse_rate(&parts, open, close)
        }
    }

    /// The first firing time strictly after `after` (seconds since the Unix epoch, UTC); `None`
    /// if it never fires again (e.g. a cron whose years are all in the past). A rate schedule
    /// counts from when its rule was created, so `after` must be that reference point or a
    /// previous firing: the answer is `after + every_seconds`.
    pub fn next_after(&self, after: i64) -> Option<i64> {
        match self {
            Schedule::Rate { every_seconds } => {
                after.checked_add(i64::try_from(*every_seconds).ok()?)
            }
            Schedule::Cron(cron) => cron.next_after(after),
        }
    }
}

/// A set of small numbers (below 256).
#[derive(Clone, Copy, PartialEq, Eq, Default)]
struct Bits([u64; 4]);

impl Bits {
    fn insert(&mut self, value: u32) {
        if let Some(word) = self.0.get_mut((value / 64) as usize) {
            *word |= 1 << (value % 64);
        }
    }

    fn contains(self, value: u32) -> bool {
        self.0
            .get((value / 64) as usize)
            .is_some_and(|word| word >> (value % 64) & 1 == 1)
    }

    /// The smallest member at or above `from`.
    fn next_from(self, from: u32) -> Option<u32> {
        let mut index = (from / 64) as usize;
        let mut word = *self.0.get(index)? & (!0u64 << (from % 64));
        loop {
            if word != 0 {
                return Some(index as u32 * 64 + word.trailing_zeros());
            }
            index += 1;
            word = *self.0.get(index)?;
        }
    }
}

impl fmt::Debug for Bits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries((0..256).filter(|&v| self.contains(v)))
            .finish()
    }
}

/// Which days of a month fire: exactly one of day-of-month and day-of-week is `?`, so exactly
/// one of them decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Days {
    /// Day-of-week is `?`.
    OfMonth(MonthDays),
    /// Day-of-month is `?`.
    OfWeek(WeekDays),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MonthDays {
    /// Day numbers 1-31; a number past the month's end does not fire that month.
    Set(Bits),
    /// `L`.
    Last,
    /// `LW`: the last Monday-Friday of the month.
    LastWeekday,
    /// `nW`: the Monday-Friday nearest day n, without leaving the month.
    NearestWeekday(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WeekDays {
    /// Day-of-week numbers 1-7 (1 = Sunday).
    Set(Bits),
    /// `nL`: the last such weekday of the month.
    Last(u32),
    /// `n#k`: the k-th such weekday of the month.
    Nth { weekday: u32, nth: u32 },
}

// Parsing.

fn error(message: impl Into<String>, offset: usize, len: usize) -> ScheduleError {
    ScheduleError {
        message: message.into(),
        hint: None,
        offset,
        len: len.max(1),
    }
}

impl ScheduleError {
    fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// User text quoted in a message: control characters escaped, and cut short so that a pasted
/// paragraph does not drown the message.
fn show(text: &str) -> String {
    let mut out = String::new();
    for (count, c) in text.chars().enumerate() {
        if count == 40 {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Splits `text`, which starts at byte `base` of the expression, keeping each piece's offset so
/// that errors can point at it.
fn split(text: &str, base: usize, separator: char) -> impl Iterator<Item = (usize, &str)> {
    let mut offset = base;
    text.split(separator).map(move |piece| {
        let start = offset;
        offset += piece.len() + separator.len_utf8();
        (start, piece)
    })
}

fn keyword_error(keyword: &str, open: usize) -> ScheduleError {
    let trimmed = keyword.trim_end();
    if matches!(trimmed, "cron" | "rate") {
        return error(
            format!("no space allowed between `{trimmed}` and `(`"),
            trimmed.len(),
            open - trimmed.len(),
        )
        .hint(format!("write `{trimmed}(...)`"));
    }
    let lower = trimmed.to_ascii_lowercase();
    let (message, hint) = match lower.as_str() {
        "" => (
            "missing `cron` or `rate` before `(`".to_string(),
            EXAMPLES_HINT.to_string(),
        ),
        "cron" | "rate" => (
            format!("`{trimmed}` must be written in lower case"),
            format!("write `{lower}(...)`"),
        ),
        "at" => (
            "one-time `at(...)` schedules are not supported".to_string(),
            "use a `cron(...)` or `rate(...)` expression".to_string(),
        ),
        _ => (
            format!("unknown schedule type `{}`", show(trimmed)),
            format!("EventBridge schedules are `cron(...)` or `rate(...)`; {EXAMPLES_HINT}"),
        ),
    };
    error(message, 0, open.max(1)).hint(hint)
}

fn parse_rate(
    parts: &[(usize, &str)],
    open: usize,
    close: usize,
) -> Result<Schedule, ScheduleError> {
    let (value_offset, value, unit_offset, unit) = match *parts {
        [(value_offset, value), (unit_offset, unit)] => (value_offset, value, unit_offset, unit),
        [] => {
            return Err(error("rate expression is empty", open, close + 1 - open)
                .hint("write e.g. `rate(7 days)`"));
        }
        [(offset, only)] => {
            let digits = only.bytes().take_while(u8::is_ascii_digit).count();
            let hint = if digits == only.len() {
                format!("write e.g. `rate({only} days)`; {RATE_UNITS_HINT}")
            } else if digits > 0 {
                format!(
                    "put a space between number and unit: `rate({} {})`",
                    &only[..digits],
                    &only[digits..]
                )
            } else {
                "write e.g. `rate(7 days)`".to_string()
            };
            return Err(error(
                format!("rate expression `{}` needs a number and a unit", show(only)),
                offset,
                only.len(),
            )
            .hint(hint));
        }
        [_, _, (offset, _), ..] => {
            let (last_offset, last) = parts[parts.len() - 1];
            return Err(error(
                format!(
                    "rate expression has {} parts; it takes a number and a unit",
                    parts.len()
                ),
                offset,
                last_offset + last.len() - offset,
            )
            .hint("write e.g. `rate(7 days)`"));
        }
    };
    if !value.bytes().all(|b| b.is_ascii_digit()) {
        let hint = if value.contains('.') {
            "use a whole number of a smaller unit, e.g. `rate(90 minutes)` for 1.5 hours"
        } else {
            "write e.g. `rate(7 days)`"
        };
        return Err(error(
            format!(
                "rate value `{}` is not a positive whole number",
                show(value)
            ),
            value_offset,
            value.len(),
        )
        .hint(hint));
    }
    let too_large = || {
        error(
            format!("rate value `{value}` is too large"),
            value_offset,
            value.len(),
        )
    };
    let count: u64 = value.parse().map_err(|_| too_large())?;
    if count == 0 {
        return Err(error(
            "rate value must be at least 1",
            value_offset,
            value.len(),
        ));
    }
    let (seconds, singular, plural) = match unit {
        "minute" | "minutes" => (60, "minute", "minutes"),
        "hour" | "hours" => (3600, "hour", "hours"),
        "day" | "days" => (86_400, "day", "days"),
        _ => {
            let lower = unit.to_ascii_lowercase();
            let hint = match lower.as_str() {
                "minute" | "minutes" | "hour" | "hours" | "day" | "days" => {
                    format!("write `{lower}` in lower case")
                }
                "week" | "weeks" => match count.checked_mul(7) {
                    Some(days) => {
                        format!("EventBridge rates have no weeks; write `rate({days} days)`")
                    }
                    None => RATE_UNITS_HINT.to_string(),
                },
                "second" | "seconds" | "sec" | "secs" | "s" => {
                    "the shortest EventBridge rate is `rate(1 minute)`".to_string()
                }
                "month" | "months" | "year" | "years" => {
                    "use a cron expression, e.g. `cron(0 0 1 * ? *)` for monthly".to_string()
                }
                _ => RATE_UNITS_HINT.to_string(),
            };
            return Err(error(
                format!(
                    "rate unit `{}` is not one of minute, hour or day",
                    show(unit)
                ),
                unit_offset,
                unit.len(),
            )
            .hint(hint));
        }
    };
    // EventBridge insists on grammatical agreement: `rate(1 minutes)` and `rate(5 minute)`
    // are both rejected.
    let wanted = if count == 1 { singular } else { plural };
    if unit != wanted {
        let form = if count == 1 { "singular" } else { "plural" };
        return Err(error(
            format!("rate `{value} {unit}` needs the {form} unit `{wanted}`"),
            unit_offset,
            unit.len(),
        )
        .hint(format!("write `rate({value} {wanted})`")));
    }
    let every_seconds = count
        .checked_mul(seconds)
        .filter(|&s| i64::try_from(s).is_ok())
        .ok_or_else(too_large)?;
    Ok(Schedule::Rate { every_seconds })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldId {
    Minutes,
    Hours,
    DayOfMonth,
    Month,
    DayOfWeek,
    Year,
}

/// What one cron field accepts.
struct Kind {
    id: FieldId,
    name: &'static str,
    min: u32,
    max: u32,
    /// Steps above this select nothing but the start; EventBridge-like (Quartz) parsers refuse them.
    max_step: u32,
    names: &'static [&'static str],
    /// Completes "... is not ...".
    expect: &'static str,
    /// Shown when a value is not understood at all.
    syntax: &'static str,
}

#[rustfmt::skip]
const KINDS: [Kind; 6] = [
    Kind { id: FieldId::Minutes, name: "minutes", min: 0, max: 59, max_step: 59, names: &[],
        expect: "a number 0-59",
        syntax: "minutes take numbers 0-59, `*`, ranges `0-29`, lists `0,30` and steps `0/15`" },
    Kind { id: FieldId::Hours, name: "hours", min: 0, max: 23, max_step: 23, names: &[],
        expect: "a number 0-23",
        syntax: "hours take numbers 0-23 (UTC), `*`, ranges `9-17`, lists `9,18` and steps `0/6`" },
    Kind { id: FieldId::DayOfMonth, name: "day-of-month", min: 1, max: 31, max_step: 31, names: &[],
        expect: "a day number 1-31",
        syntax: "day-of-month takes numbers 1-31, `*`, `?`, ranges `1-15`, lists `1,15`, steps \
                 `1/7`, `L` (last day), `LW` (last weekday) or `15W` (weekday nearest the 15th)" },
    Kind { id: FieldId::Month, name: "month", min: 1, max: 12, max_step: 12, names: &MONTH_NAMES,
        expect: "a month name (JAN-DEC) or number 1-12",
        syntax: "month takes names JAN-DEC or numbers 1-12, `*`, ranges `JAN-MAR`, lists \
                 `JAN,JUL` and steps `1/3`" },
    Kind { id: FieldId::DayOfWeek, name: "day-of-week", min: 1, max: 7, max_step: 7, names: &DAY_NAMES,
        expect: "a day name (SUN-SAT) or number 1-7",
        syntax: "day-of-week takes names SUN-SAT or numbers 1-7 (1=SUN), `*`, `?`, ranges \
                 `MON-FRI`, lists `MON,THU`, `6L` (last Friday) or `FRI#3` (third Friday)" },
    Kind { id: FieldId::Year, name: "year", min: MIN_YEAR, max: MAX_YEAR, max_step: MAX_YEAR - MIN_YEAR,
        names: &[], expect: "a year 1970-2199",
        syntax: "year takes years 1970-2199, `*`, ranges `2026-2030`, lists `2026,2028` and \
                 steps `2026/2`" },
];

/// One cron field as written, with its byte offset in the expression.
struct Field<'a> {
    kind: &'static Kind,
    text: &'a str,
    offset: usize,
}

fn parse_cron<'a>(
    parts: &[(usize, &'a str)],
    open: usize,
    close: usize,
) -> Result<Cron, ScheduleError> {
    let [minutes, hours, day_of_month, month, day_of_week, year] = *parts else {
        return Err(field_count_error(parts, open, close));
    };
    let field = |index: usize, (offset, text): (usize, &'a str)| Field {
        kind: &KINDS[index],
        text,
        offset,
    };
    let minutes = field(0, minutes).list()?;
    let hours = field(1, hours).list()?;
    let month_days = field(2, day_of_month).day_of_month()?;
    let months = field(3, month).list()?;
    let week_days = field(4, day_of_week).day_of_week()?;
    let years = field(5, year).list()?;
    let days = match (month_days, week_days) {
        (Some(month_days), None) => Days::OfMonth(month_days),
        (None, Some(week_days)) => Days::OfWeek(week_days),
        (None, None) => {
            return Err(error(
                "day-of-month and day-of-week cannot both be `?`",
                day_of_week.0,
                day_of_week.1.len(),
            )
            .hint(format!(
                "write `*` in one of them, e.g. `{}` for every day",
                rewrite(parts, &[(2, "*")])
            )));
        }
        (Some(_), Some(_)) => return Err(both_days_error(parts)),
    };
    Ok(Cron {
        minutes,
        hours,
        days,
        months,
        years,
    })
}

/// Rebuilds a cron expression from its fields with some of them replaced, for hints.
fn rewrite(parts: &[(usize, &str)], replace: &[(usize, &str)]) -> String {
    let fields: Vec<&str> = (0..parts.len())
        .map(|i| {
            replace
                .iter()
                .find(|(at, _)| *at == i)
                .map_or(parts[i].1, |(_, text)| text)
        })
        .collect();
    format!("cron({})", fields.join(" "))
}

fn field_count_error(parts: &[(usize, &str)], open: usize, close: usize) -> ScheduleError {
    let (offset, len) = match (parts.first(), parts.last()) {
        (Some(&(first, _)), Some(&(last, text))) => (first, last + text.len() - first),
        _ => (open, close + 1 - open),
    };
    let count = parts.len();
    let message = match count {
        0 => "cron expression is empty".to_string(),
        1 => "cron expression has 1 field, EventBridge needs 6".to_string(),
        _ => format!("cron expression has {count} fields, EventBridge needs 6"),
    };
    let mut hint = CRON_FIELDS_HINT.to_string();
    if count == 5 {
        // Probably a Unix crontab line: add the year, and `?` where EventBridge wants one.
        let (dom, dow) = (parts[2].1, parts[4].1);
        let mut with_year = parts.to_vec();
        with_year.push((0, "*"));
        let fix = match (dom, dow) {
            ("*", "*") => Some((4, "?")),
            ("*", _) => Some((2, "?")),
            (_, "*") => Some((4, "?")),
            ("?", _) | (_, "?") => Some((5, "*")),
            _ => None,
        };
        if dow.bytes().any(|b| b.is_ascii_digit()) {
            hint.push_str(
                "; note that day-of-week numbers are 1-7 with 1=SUN, not Unix cron's 0-6",
            );
        } else if let Some(fix) = fix {
            hint.push_str(&format!(
                "; did you mean `{}`?",
                rewrite(&with_year, &[fix])
            ));
        }
    } else if count == 7 {
        hint.push_str(" (there is no seconds field)");
        if parts[0].1 == "0" {
            hint.push_str(&format!("; did you mean `{}`?", rewrite(&parts[1..], &[])));
        }
    }
    error(message, offset, len).hint(hint)
}

fn both_days_error(parts: &[(usize, &str)]) -> ScheduleError {
    let ((dom_offset, dom), (dow_offset, dow)) = (parts[2], parts[4]);
    let message = format!(
        "day-of-month `{}` and day-of-week `{}` are both set, EventBridge needs `?` in one of them",
        show(dom),
        show(dow)
    );
    let (offset, len, suggestion) = match (dom, dow) {
        ("*", "*") => (
            dow_offset,
            dow.len(),
            format!("write `{}`", rewrite(parts, &[(4, "?")])),
        ),
        ("*", _) => (
            dom_offset,
            dom.len(),
            format!("write `{}`", rewrite(parts, &[(2, "?")])),
        ),
        (_, "*") => (
            dow_offset,
            dow.len(),
            format!("write `{}`", rewrite(parts, &[(4, "?")])),
        ),
        _ => (
            dom_offset,
            dow_offset + dow.len() - dom_offset,
            format!(
                "write `{}` to follow the day of the month or `{}` to follow the day of the week",
                rewrite(parts, &[(4, "?")]),
                rewrite(parts, &[(2, "?")])
            ),
        ),
    };
    error(message, offset, len).hint(format!(
        "EventBridge needs `?` in either day-of-month or day-of-week; {suggestion}"
    ))
}

impl Field<'_> {
    /// "minutes field `x`" or, when the fault is only part of the field,
    /// "minutes field `0,x`: `x`".
    fn describe(&self, piece: &str) -> String {
        if piece == self.text {
            format!("{} field `{}`", self.kind.name, show(piece))
        } else {
            format!(
                "{} field `{}`: `{}`",
                self.kind.name,
                show(self.text),
                show(piece)
            )
        }
    }

    fn whole_field_error(&self, message: String) -> ScheduleError {
        error(message, self.offset, self.text.len())
    }

    /// A plain list of values, ranges and steps, without the day fields' specials.
    fn list(&self) -> Result<Bits, ScheduleError> {
        let mut set = Bits::default();
        for (offset, element) in split(self.text, self.offset, ',') {
            if element.is_empty() {
                return Err(self
                    .whole_field_error(format!(
                        "{} has an empty item in its list",
                        self.describe(self.text)
                    ))
                    .hint("separate values with single commas, e.g. `1,15`"));
            }
            self.element(element, offset, &mut set)?;
        }
        Ok(set)
    }

    fn element(&self, element: &str, offset: usize, set: &mut Bits) -> Result<(), ScheduleError> {
        let kind = self.kind;
        let (range, step) = match element.split_once('/') {
            None => (element, None),
            Some((range, step)) => {
                if kind.id == FieldId::DayOfWeek {
                    return Err(error(
                        format!(
                            "{} uses a step (`/`), which day-of-week does not allow",
                            self.describe(element)
                        ),
                        offset,
                        element.len(),
                    )
                    .hint("list the days instead, e.g. `MON,WED,FRI`"));
                }
                let step_value = step
                    .parse::<u32>()
                    .ok()
                    .filter(|s| {
                        (1..=kind.max_step).contains(s) && step.bytes().all(|b| b.is_ascii_digit())
                    })
                    .ok_or_else(|| {
                        let message = format!(
                            "{} has step `{}`, which must be a number 1-{}",
                            self.describe(element),
                            show(step),
                            kind.max_step
                        );
                        error(message, offset, element.len()).hint(kind.syntax)
                    })?;
                (range, Some(step_value))
            }
        };
        let (low, high) = if range == "*" {
            (kind.min, kind.max)
        } else if let Some((first, last)) = range.split_once('-') {
            let low = self.value(first, offset, (offset, element))?;
            let high = self.value(last, offset + first.len() + 1, (offset, element))?;
            if low > high {
                // Quartz wraps such ranges around, but EventBridge documents none: refuse
                // rather than guess.
                let (max, min) = if first.bytes().all(|b| b.is_ascii_digit()) {
                    (kind.max.to_string(), kind.min.to_string())
                } else {
                    (
                        kind.names[kind.names.len() - 1].to_string(),
                        kind.names[0].to_string(),
                    )
                };
                return Err(error(
                    format!("{} runs backwards", self.describe(range)),
                    offset,
                    range.len(),
                )
                .hint(format!(
                    "ranges cannot wrap around; write `{first}-{max},{min}-{last}`"
                )));
            }
            (low, high)
        } else {
            let value = self.value(range, offset, (offset, element))?;
            // `a/b` starts at a and runs to the end of the field.
            (value, if step.is_some() { kind.max } else { value })
        };
        let base = if kind.id == FieldId::Year {
            MIN_YEAR
        } else {
            0
        };
        for value in (low..=high).step_by(step.unwrap_or(1) as usize) {
            set.insert(value - base);
        }
        Ok(())
    }

    /// One number or name at `offset`; `element` is the list item it came from, blamed when
    /// the piece is empty (`5-`, `#3`).
    fn value(
        &self,
        piece: &str,
        offset: usize,
        element: (usize, &str),
    ) -> Result<u32, ScheduleError> {
        let kind = self.kind;
        if piece.is_empty() {
            return Err(error(
                format!("{} is incomplete", self.describe(element.1)),
                element.0,
                element.1.len(),
            )
            .hint(kind.syntax));
        }
        if piece.bytes().all(|b| b.is_ascii_digit()) {
            if let Some(value) = piece
                .parse::<u32>()
                .ok()
                .filter(|v| (kind.min..=kind.max).contains(v))
            {
                return Ok(value);
            }
            let mut problem = error(
                format!(
                    "{} is out of range {}-{}",
                    self.describe(piece),
                    kind.min,
                    kind.max
                ),
                offset,
                piece.len(),
            );
            if kind.id == FieldId::DayOfWeek && piece.bytes().all(|b| b == b'0') {
                problem = problem.hint(
                    "day-of-week numbers are 1-7 with 1=SUN; Unix cron's 0 for Sunday is 1 here",
                );
            } else if kind.id == FieldId::Month && piece.bytes().all(|b| b == b'0') {
                problem = problem.hint("months are 1-12 with 1=JAN");
            }
            return Err(problem);
        }
        let upper = piece.to_ascii_uppercase();
        if let Some(index) = kind.names.iter().position(|name| *name == upper) {
            return Ok(index as u32 + 1);
        }
        Err(error(
            format!("{} is not {}", self.describe(piece), kind.expect),
            offset,
            piece.len(),
        )
        .hint(self.value_hint(&upper)))
    }

    fn value_hint(&self, upper: &str) -> String {
        let names = self.kind.names;
        if upper.len() > 3
            && let Some(name) = names.iter().find(|name| upper.starts_with(**name))
        {
            return format!("use the three-letter name `{name}`");
        }
        let close: Vec<&&str> = names
            .iter()
            .filter(|name| {
                name.len() == upper.len()
                    && name
                        .bytes()
                        .zip(upper.bytes())
                        .filter(|(a, b)| a != b)
                        .count()
                        == 1
            })
            .collect();
        if let [name] = close.as_slice() {
            return format!("did you mean `{name}`?");
        }
        if upper.contains('?') {
            return "`?` is only allowed, alone, in day-of-month or day-of-week".to_string();
        }
        if upper.contains('#') && self.kind.id != FieldId::DayOfWeek {
            return "`#` is only allowed in day-of-week, e.g. `FRI#3`".to_string();
        }
        if upper == "L" || upper == "LW" {
            return "`L` is only allowed in day-of-month and day-of-week".to_string();
        }
        self.kind.syntax.to_string()
    }

    /// `?` (None), `L`, `LW`, `nW` or a list.
    fn day_of_month(&self) -> Result<Option<MonthDays>, ScheduleError> {
        let text = self.text;
        if text == "?" {
            return Ok(None);
        }
        let is_special = |element: &str| element == "?" || element.contains(['L', 'l', 'W', 'w']);
        self.refuse_specials_in_list(is_special, "`?`, `L`, `LW` and `15W`")?;
        let upper = text.to_ascii_uppercase();
        if upper == "L" {
            return Ok(Some(MonthDays::Last));
        }
        if upper == "LW" {
            return Ok(Some(MonthDays::LastWeekday));
        }
        if let Some(day) = upper.strip_suffix('W') {
            if day.is_empty() {
                return Err(self
                    .whole_field_error(format!(
                        "{} needs a day number before `W`",
                        self.describe(text)
                    ))
                    .hint("write e.g. `15W` for the weekday nearest the 15th"));
            }
            if day.bytes().all(|b| b.is_ascii_digit()) {
                return Ok(Some(MonthDays::NearestWeekday(self.value(
                    day,
                    self.offset,
                    (self.offset, text),
                )?)));
            }
        }
        self.list().map(|set| Some(MonthDays::Set(set)))
    }

    /// `?` (None), `L`, `nL`, `n#k` or a list.
    fn day_of_week(&self) -> Result<Option<WeekDays>, ScheduleError> {
        let text = self.text;
        if text == "?" {
            return Ok(None);
        }
        let is_special = |element: &str| {
            element == "?" || element.contains('#') || element.ends_with(['L', 'l'])
        };
        self.refuse_specials_in_list(is_special, "`?`, `L`, `6L` and `FRI#3`")?;
        if text.eq_ignore_ascii_case("L") {
            // The last day of the week.
            let mut saturday = Bits::default();
            saturday.insert(SATURDAY);
            return Ok(Some(WeekDays::Set(saturday)));
        }
        if let Some((day, nth)) = text.split_once('#') {
            let weekday = self.value(day, self.offset, (self.offset, text))?;
            let nth = nth
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=5).contains(n) && nth.bytes().all(|b| b.is_ascii_digit()));
            let Some(nth) = nth else {
                let message = format!("{}: the number after `#` must be 1-5", self.describe(text));
                return Err(self
                    .whole_field_error(message)
                    .hint("e.g. `FRI#3` is the third Friday of the month"));
            };
            return Ok(Some(WeekDays::Nth { weekday, nth }));
        }
        if let Some(day) = text.strip_suffix(['L', 'l']) {
            return Ok(Some(WeekDays::Last(self.value(
                day,
                self.offset,
                (self.offset, text),
            )?)));
        }
        self.list().map(|set| Some(WeekDays::Set(set)))
    }

    fn refuse_specials_in_list(
        &self,
        is_special: impl Fn(&str) -> bool,
        specials: &str,
    ) -> Result<(), ScheduleError> {
        if !self.text.contains(',') {
            return Ok(());
        }
        match split(self.text, self.offset, ',').find(|(_, element)| is_special(element)) {
            None => Ok(()),
            Some((offset, element)) => Err(error(
                format!(
                    "{} cannot be combined with other values",
                    self.describe(element)
                ),
                offset,
                element.len(),
            )
            .hint(format!(
                "{specials} must be the whole {} field",
                self.kind.name
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_error(expression: &str) -> ScheduleError {
        match Schedule::parse(expression) {
            Ok(schedule) => panic!("`{expression}` parsed as {schedule:?}"),
            Err(problem) => problem,
        }
    }

    /// What every error must honour so that the caller can underline the faulty part.
    fn assert_well_formed(expression: &str, problem: &ScheduleError) {
        let end = problem.offset + problem.len;
        let fits = expression.is_empty()
            || (end <= expression.len()
                && expression.is_char_boundary(problem.offset)
                && expression.is_char_boundary(end));
        let ok = fits && problem.len >= 1 && !problem.message.is_empty();
        assert!(ok, "{expression:?}: {problem:?}");
    }

    #[rustfmt::skip]
    const VALID: &[&str] = &[
        "cron(0 18 ? * SAT *)", "cron(0 18 ? * sat *)", "cron(0   18 ?  * SAT   *)",
        "cron( 0 18 ? * SAT * )", "cron(* * * * ? *)", "cron(* * ? * * *)", "cron(0/15 * * * ? *)",
        "cron(*/15 * * * ? *)", "cron(5-55/10 9-17 * * ? *)", "cron(0,15,30,45 0,12 * * ? *)",
        "cron(0 12 L * ? *)", "cron(0 12 lw * ? *)", "cron(0 10 15W * ? *)", "cron(0 10 1w * ? *)",
        "cron(0 10 1/7 * ? *)", "cron(0 9 ? * MON#1 *)", "cron(0 9 ? * 2#5 *)",
        "cron(0 17 ? * 6L *)", "cron(0 17 ? * FRIL *)", "cron(0 0 ? * L *)",
        "cron(0 8 ? * MON-FRI *)", "cron(0 8 ? * mon,wed,Fri *)", "cron(0 8 ? * 1-7 *)",
        "cron(0 0 29 2 ? *)", "cron(0 0 1 JAN-MAR,jul ? *)", "cron(0 0 1 1/3 ? *)",
        "cron(0 0 1 */2 ? *)", "cron(0 0 1 1 ? 1970)", "cron(0 0 1 1 ? 2199)",
        "cron(0 0 1 1 ? 2026-2030,2040)", "cron(0 0 1 1 ? 2026/2)", "cron(59 23 31 12 ? *)",
        "rate(1 minute)", "rate(5 minutes)", "rate(1 hour)", "rate(12 hours)", "rate(1 day)",
        "rate(7 days)", "rate( 7  days )",
    ];

    #[test]
    fn valid_expressions() {
        for expression in VALID {
            if let Err(problem) = Schedule::parse(expression) {
                panic!("`{expression}` was refused: {problem}");
            }
        }
        for (expression, every_seconds) in [
            ("rate(1 minute)", 60),
            ("rate(90 minutes)", 5_400),
            ("rate(2 hours)", 7_200),
            ("rate(7 days)", 604_800),
        ] {
            assert_eq!(
                Schedule::parse(expression),
                Ok(Schedule::Rate { every_seconds })
            );
        }
    }

    /// (expression, part of the message)
    #[rustfmt::skip]
    const INVALID: &[(&str, &str)] = &[
        ("", "schedule expression is empty"),
        ("   ", "schedule expression is empty"),
        (" cron(0 18 ? * SAT *)", "whitespace around it"),
        ("cron(0 18 ? * SAT *)\n", "whitespace around it"),
        ("0 18 ? * SAT *", "is not a `cron(...)` or `rate(...)` expression"),
        ("CRON(0 18 ? * SAT *)", "must be written in lower case"),
        ("cron (0 18 ? * SAT *)", "no space allowed between `cron` and `(`"),
        ("at(2026-01-01T00:00:00)", "one-time `at(...)`"),
        ("every(7 days)", "unknown schedule type `every`"),
        ("(7 days)", "missing `cron` or `rate`"),
        ("cron(0 18 ? * SAT *", "missing closing `)`"),
        ("cron(0 18 ? * SAT *)x", "unexpected `x` after `)`"),
        ("cron(0\t18 ? * SAT *)", "unexpected whitespace `\\t`"),
        ("cron()", "cron expression is empty"),
        ("cron(0 18 * * SAT)", "has 5 fields"),
        ("cron(0 0 18 ? * SAT *)", "has 7 fields"),
        ("cron(60 18 ? * SAT *)", "minutes field `60` is out of range 0-59"),
        ("cron(0 24 ? * SAT *)", "hours field `24` is out of range 0-23"),
        ("cron(0 18 0 * ? *)", "day-of-month field `0` is out of range 1-31"),
        ("cron(0 18 32 * ? *)", "day-of-month field `32` is out of range 1-31"),
        ("cron(0 18 1 13 ? *)", "month field `13` is out of range 1-12"),
        ("cron(0 18 1 JANUARY ? *)", "month field `JANUARY` is not a month name"),
        ("cron(0 18 ? * 8 *)", "day-of-week field `8` is out of range 1-7"),
        ("cron(0 18 ? * SAT 1969)", "year field `1969` is out of range 1970-2199"),
        ("cron(0 18 ? * SAT 2200)", "year field `2200` is out of range 1970-2199"),
        ("cron(0 18 * * * *)", "both set"),
        ("cron(0 18 ? * ? *)", "cannot both be `?`"),
        ("cron(? 18 ? * SAT *)", "minutes field `?` is not a number 0-59"),
        ("cron(0 18 ? * SAT ?)", "year field `?` is not a year"),
        ("cron(0 18 ? L SAT *)", "month field `L` is not"),
        ("cron(0 18 ? * SAT/2 *)", "which day-of-week does not allow"),
        ("cron(0 18 ? * MON#6 *)", "the number after `#` must be 1-5"),
        ("cron(0 18 ? * MON#0 *)", "the number after `#` must be 1-5"),
        ("cron(0 18 ? * MON# *)", "the number after `#` must be 1-5"),
        ("cron(0 18 ? * #2 *)", "is incomplete"),
        ("cron(0 18 ? * 8L *)", "day-of-week field `8L`: `8` is out of range 1-7"),
        ("cron(0 18 ? * MON,6L *)", "`6L` cannot be combined with other values"),
        ("cron(0 18 ? * MON,? *)", "`?` cannot be combined"),
        ("cron(0 18 1,L * ? *)", "`L` cannot be combined with other values"),
        ("cron(0 18 W * ? *)", "needs a day number before `W`"),
        ("cron(0 18 32W * ? *)", "`32` is out of range 1-31"),
        ("cron(0 18 L-3 * ? *)", "`L` is not a day number 1-31"),
        ("cron(0 18 5L * ? *)", "`5L` is not a day number 1-31"),
        ("cron(0 18 1,,15 * ? *)", "has an empty item in its list"),
        ("cron(0 18 1, * ? *)", "has an empty item in its list"),
        ("cron(0/0 18 ? * SAT *)", "has step `0`, which must be a number 1-59"),
        ("cron(0/ 18 ? * SAT *)", "has step ``"),
        ("cron(0/5/5 18 ? * SAT *)", "has step `5/5`"),
        ("cron(0 18 ? * FRI-MON *)", "`FRI-MON` runs backwards"),
        ("cron(0 18 ? * 5- *)", "`5-` is incomplete"),
        ("cron(-5 18 ? * SAT *)", "`-5` is incomplete"),
        ("cron(1-2-3 18 ? * SAT *)", "`2-3` is not a number 0-59"),
        ("cron(99999999999 18 ? * SAT *)", "out of range 0-59"),
        ("cron(0 18 ? * SAT *-2030)", "`*` is not a year"),
        ("cron(０ 18 ? * SAT *)", "minutes field `０` is not a number 0-59"),
        ("rate()", "rate expression is empty"),
        ("rate(7)", "needs a number and a unit"),
        ("rate(7days)", "needs a number and a unit"),
        ("rate(7 days later)", "has 3 parts"),
        ("rate(0 minutes)", "at least 1"),
        ("rate(-1 minutes)", "not a positive whole number"),
        ("rate(1.5 hours)", "not a positive whole number"),
        ("rate(+5 minutes)", "not a positive whole number"),
        ("rate(99999999999999999999 days)", "too large"),
        ("rate(999999999999999 days)", "too large"),
        ("rate(5 minute)", "needs the plural unit `minutes`"),
        ("rate(5 Minutes)", "rate unit `Minutes`"),
        ("rate(30 seconds)", "rate unit `seconds`"),
    ];

    #[test]
    fn invalid_expressions() {
        for (expression, message) in INVALID {
            let problem = parse_error(expression);
            let found = &problem.message;
            assert!(
                found.contains(message),
                "`{expression}`: {message:?} not in {found:?}"
            );
            assert_well_formed(expression, &problem);
        }
    }

    const BOTH: &str = "EventBridge needs `?` in either day-of-month or day-of-week";

    /// (expression, message, hint, underlined text)
    #[rustfmt::skip]
    const DETAILS: &[(&str, &str, &str, &str)] = &[
        ("cron(0 18 * * SAT *)",
         "day-of-month `*` and day-of-week `SAT` are both set, EventBridge needs `?` in one of them",
         "$BOTH; write `cron(0 18 ? * SAT *)`", "*"),
        ("cron(0 18 15 * MON *)",
         "day-of-month `15` and day-of-week `MON` are both set, EventBridge needs `?` in one of them",
         "$BOTH; write `cron(0 18 15 * ? *)` to follow the day of the month or \
          `cron(0 18 ? * MON *)` to follow the day of the week", "15 * MON"),
        ("cron(0  18 ? *   MOM *)", "day-of-week field `MOM` is not a day name (SUN-SAT) or number 1-7",
         "did you mean `MON`?", "MOM"),
        ("cron(0 18 ? * SATURDAY *)",
         "day-of-week field `SATURDAY` is not a day name (SUN-SAT) or number 1-7",
         "use the three-letter name `SAT`", "SATURDAY"),
        ("cron(0 18 * * SAT)", "cron expression has 5 fields, EventBridge needs 6",
         "$FIELDS; did you mean `cron(0 18 ? * SAT *)`?", "0 18 * * SAT"),
        ("cron(0 18 * * 6)", "cron expression has 5 fields, EventBridge needs 6",
         "$FIELDS; note that day-of-week numbers are 1-7 with 1=SUN, not Unix cron's 0-6",
         "0 18 * * 6"),
        ("cron(0 0 18 ? * SAT *)", "cron expression has 7 fields, EventBridge needs 6",
         "$FIELDS (there is no seconds field); did you mean `cron(0 18 ? * SAT *)`?",
         "0 0 18 ? * SAT *"),
        ("cron(0,75 18 ? * SAT *)", "minutes field `0,75`: `75` is out of range 0-59", "", "75"),
        ("cron(0 18 ? * 0 *)", "day-of-week field `0` is out of range 1-7",
         "day-of-week numbers are 1-7 with 1=SUN; Unix cron's 0 for Sunday is 1 here", "0"),
        ("cron(0 22-2 ? * SAT *)", "hours field `22-2` runs backwards",
         "ranges cannot wrap around; write `22-23,0-2`", "22-2"),
        ("rate(1 minutes)", "rate `1 minutes` needs the singular unit `minute`",
         "write `rate(1 minute)`", "minutes"),
        ("rate(2 weeks)", "rate unit `weeks` is not one of minute, hour or day",
         "EventBridge rates have no weeks; write `rate(14 days)`", "weeks"),
        ("cron(0 18 ? * SAT *", "missing closing `)`", "write `cron(0 18 ? * SAT *)`", "*"),
    ];

    #[test]
    fn error_details() {
        for (expression, message, hint, underlined) in DETAILS {
            let problem = parse_error(expression);
            let hint = hint
                .replace("$BOTH", BOTH)
                .replace("$FIELDS", CRON_FIELDS_HINT);
            assert_eq!(problem.message, *message, "{expression}");
            assert_eq!(problem.hint.unwrap_or_default(), hint, "{expression}");
            let start = problem.offset;
            assert_eq!(
                &expression[start..start + problem.len],
                *underlined,
                "{expression}"
            );
        }
    }

    #[test]
    fn parse_never_panics() {
        #[rustfmt::skip]
        let fragments = [
            "cron(", "rate(", ")", "(", " ", "  ", "*", "?", "/", "-", ",", "#", "L", "W", "LW",
            "l", "0", "1", "5", "7", "15", "31", "59", "60", "1970", "2199", "2200", "JAN", "sat",
            "MON", "é", "日", "\t", "\n", "\u{0}", "days", "minute", "99999999999999999999",
        ];
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut random = move |bound: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % bound as u64) as usize
        };
        let (mut accepted, mut refused) = (0, 0);
        for round in 0..800 {
            // Mutate valid expressions a little, so that most inputs get deep into the parser.
            let mut input = VALID[round % VALID.len()].to_string();
            for _ in 0..random(4) {
                let boundaries: Vec<usize> = (0..=input.len())
                    .filter(|&i| input.is_char_boundary(i))
                    .collect();
                let start = boundaries[random(boundaries.len())];
                let end = boundaries[random(boundaries.len())].max(start);
                let with = if random(3) == 0 {
                    ""
                } else {
                    fragments[random(fragments.len())]
                };
                input.replace_range(start..end.min(start + 3), with);
            }
            match Schedule::parse(&input) {
                Err(problem) => {
                    refused += 1;
                    assert_well_formed(&input, &problem);
                }
                Ok(schedule) => {
                    accepted += 1;
                    for after in [i64::MIN, -1, 0, 1_795_341_600, i64::MAX] {
                        let next = schedule.next_after(after);
                        assert!(next.is_none_or(|next| next > after), "{input}");
                    }
                }
            }
        }
        assert!(
            accepted > 100 && refused > 300,
            "{accepted} accepted, {refused} refused"
        );
    }
}
