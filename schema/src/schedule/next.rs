//! When a cron expression fires next, in UTC. The calendar (month lengths, leap years,
//! weekdays, timestamps) is jiff's; this file only decides which days of a month and which
//! minutes of a day match.

use jiff::Timestamp;
use jiff::civil::{Date, Time, Weekday};
use jiff::tz::Offset;

use super::{Cron, Days, MAX_YEAR, MIN_YEAR, MonthDays, SATURDAY, SUNDAY, WeekDays};

/// Bits 0, 7, 14, …, 35: shifted by the first day of a month that falls on some weekday, the
/// days of that month that fall on it.
const WEEKLY: u64 = 1 | 1 << 7 | 1 << 14 | 1 << 21 | 1 << 28 | 1 << 35;

impl Cron {
    /// The first firing time strictly after `after` (seconds since the Unix epoch, UTC);
    /// `None` if it does not fire again by the end of 2199, the last year EventBridge knows.
    pub fn next_after(&self, after: i64) -> Option<i64> {
        // Cron fires at second 0 of a minute, so the first candidate is the next minute
        // boundary. Nothing fires before 1970 (EventBridge years start there), so earlier
        // times start from the epoch; a time past jiff's range (year 9999) is past 2199.
        let first = after.div_euclid(60).checked_add(1)?.checked_mul(60)?.max(0);
        let start = Offset::UTC.to_datetime(Timestamp::from_second(first).ok()?);
        let start_year = u32::try_from(start.year()).ok()?;
        let (start_month, start_minute) = (
            start.date().first_of_month(),
            number(start.hour()) * 60 + number(start.minute()),
        );
        // Walk month by month, and inside a month only over the days that match: at most
        // 230 years * 12 months of cheap work, whatever the expression.
        for year in start_year..=MAX_YEAR {
            if !self.years.contains(year - MIN_YEAR) {
                continue;
            }
            let first_month = if year == start_year {
                number(start.month())
            } else {
                1
            };
            for month in (first_month..=12).filter(|&month| self.months.contains(month)) {
                let first_day = Date::new(i16::try_from(year).ok()?, small(month)?, 1).ok()?;
                let mut days = self.days.in_month(first_day);
                if first_day == start_month {
                    days &= !0u64 << number(start.day());
                }
                while days != 0 {
                    let day = first_day
                        .with()
                        .day(small(days.trailing_zeros())?)
                        .build()
                        .ok()?;
                    days &= days - 1;
                    let from = if day == start.date() { start_minute } else { 0 };
                    if let Some(minute) = self.time_from(from) {
                        let time =
                            Time::new(small(minute / 60)?, small(minute % 60)?, 0, 0).ok()?;
                        let at = Offset::UTC.to_timestamp(day.to_datetime(time)).ok()?;
                        return Some(at.as_second());
                    }
                }
            }
        }
        None
    }

    /// The first firing minute of a day at or after minute-of-day `from`.
    fn time_from(&self, from: u32) -> Option<u32> {
        let (hour, minute) = (from / 60, from % 60);
        let first_hour = self.hours.next_from(hour)?;
        if first_hour == hour {
            if let Some(minute) = self.minutes.next_from(minute) {
                return Some(hour * 60 + minute);
            }
            let next_hour = self.hours.next_from(hour + 1)?;
            return Some(next_hour * 60 + self.minutes.next_from(0)?);
        }
        Some(first_hour * 60 + self.minutes.next_from(0)?)
    }
}

impl Days {
    /// The days that match in the month that starts on `first`, as a mask with bit d set for
    /// day d.
    fn in_month(self, first: Date) -> u64 {
        let last = first.last_of_month();
        let month = (2u64 << number(last.day())) - 2;
        let bit = |date: Date| 1u64 << number(date.day());
        match self {
            Days::OfMonth(MonthDays::Set(set)) => set.0[0] & month,
            Days::OfMonth(MonthDays::Last) => bit(last),
            Days::OfMonth(MonthDays::LastWeekday) => 1 << nearest_weekday(last),
            Days::OfMonth(MonthDays::NearestWeekday(day)) => small(day)
                .and_then(|day| first.with().day(day).build().ok())
                .map_or(0, |date| 1 << nearest_weekday(date)),
            Days::OfWeek(WeekDays::Set(set)) => {
                (SUNDAY..=SATURDAY)
                    .filter(|&day| set.contains(day))
                    .filter_map(|day| first.nth_weekday_of_month(1, weekday(day)?).ok())
                    .fold(0, |mask, date| mask | WEEKLY << number(date.day()))
                    & month
            }
            Days::OfWeek(WeekDays::Last(day)) => weekday(day)
                .and_then(|day| last.nth_weekday_of_month(-1, day).ok())
                .map_or(0, bit),
            // No fifth Friday this month: nothing.
            Days::OfWeek(WeekDays::Nth { weekday: day, nth }) => weekday(day)
                .zip(small(nth))
                .and_then(|(day, nth)| first.nth_weekday_of_month(nth, day).ok())
                .map_or(0, bit),
        }
    }
}

/// The day number of the Monday-Friday nearest `date`, without leaving its month: 1W on a
/// Saturday is Monday the 3rd, and the last day on a Sunday falls back to Friday.
fn nearest_weekday(date: Date) -> u32 {
    let day = number(date.day());
    match date.weekday() {
        Weekday::Saturday if day == 1 => 3,
        Weekday::Saturday => day - 1,
        Weekday::Sunday if date == date.last_of_month() => day - 2,
        Weekday::Sunday => day + 1,
        _ => day,
    }
}

/// An EventBridge day-of-week number (1 = Sunday) as a jiff weekday.
fn weekday(number: u32) -> Option<Weekday> {
    Weekday::from_sunday_one_offset(small(number)?).ok()
}

/// jiff's months, days, hours and minutes, always positive, as the parser's numbers.
fn number(value: i8) -> u32 {
    u32::from(value.unsigned_abs())
}

/// The parser's numbers as jiff's; `None` for what no calendar field holds.
fn small(value: u32) -> Option<i8> {
    i8::try_from(value).ok()
}

#[cfg(test)]
mod tests {
    use jiff::ToSpan;
    use jiff::civil::{DateTime, date};
    use proptest::prelude::*;

    use super::*;
    use crate::schedule::Schedule;

    /// Seconds since the epoch of a UTC time.
    fn utc(year: i16, month: i8, day: i8, hour: i8, minute: i8) -> i64 {
        let at = date(year, month, day).at(hour, minute, 0, 0);
        Offset::UTC.to_timestamp(at).unwrap().as_second()
    }

    fn cron(expression: &str) -> Cron {
        match Schedule::parse(expression) {
            Ok(Schedule::Cron(cron)) => cron,
            other => panic!("{expression}: {other:?}"),
        }
    }

    #[test]
    #[rustfmt::skip]
    fn next_after_hand_computed() {
        let never = None;
        let cases = [
            // 2026-11-22T10:00:00Z, a Sunday, to 2026-11-28T18:00:00Z (`date -u`).
            ("cron(0 18 ? * SAT *)", 1_795_341_600, Some(1_795_888_800)),
            ("rate(7 days)", 1_795_341_600, Some(1_795_341_600 + 604_800)),
            ("rate(1 minute)", i64::MAX, never),
            ("cron(0 12 L * ? *)", utc(2024, 2, 10, 0, 0), Some(utc(2024, 2, 29, 12, 0))),
            ("cron(0 12 L * ? *)", utc(2023, 2, 28, 12, 0), Some(utc(2023, 3, 31, 12, 0))),
            ("cron(0 12 L * ? *)", utc(2026, 4, 30, 11, 59) + 30, Some(utc(2026, 4, 30, 12, 0))),
            ("cron(0 9 ? * MON#1 *)", utc(2026, 1, 1, 0, 0), Some(utc(2026, 1, 5, 9, 0))),
            ("cron(0 9 ? * MON#1 *)", utc(2026, 1, 5, 9, 0), Some(utc(2026, 2, 2, 9, 0))),
            // January 2026 has five Fridays, then not again until May.
            ("cron(0 8 ? * FRI#5 *)", utc(2026, 1, 1, 0, 0), Some(utc(2026, 1, 30, 8, 0))),
            ("cron(0 8 ? * FRI#5 *)", utc(2026, 1, 30, 8, 0), Some(utc(2026, 5, 29, 8, 0))),
            ("cron(0 0 29 2 ? *)", utc(2024, 3, 1, 0, 0), Some(utc(2028, 2, 29, 0, 0))),
            // 2100 is not a leap year.
            ("cron(0 0 29 2 ? *)", utc(2096, 3, 1, 0, 0), Some(utc(2104, 2, 29, 0, 0))),
            // 2026-08-15 is a Saturday: Friday the 14th. 2026-03-15 is a Sunday: Monday the 16th.
            ("cron(0 10 15W * ? *)", utc(2026, 8, 1, 0, 0), Some(utc(2026, 8, 14, 10, 0))),
            ("cron(0 10 15W * ? *)", utc(2026, 8, 14, 10, 0), Some(utc(2026, 9, 15, 10, 0))),
            ("cron(0 10 15W * ? *)", utc(2026, 3, 1, 0, 0), Some(utc(2026, 3, 16, 10, 0))),
            // 2025-11-01 is a Saturday: Monday the 3rd, not Friday in October.
            ("cron(0 10 1W * ? *)", utc(2025, 10, 31, 12, 0), Some(utc(2025, 11, 3, 10, 0))),
            // 2025-11-30, the last day, is a Sunday: Friday the 28th, not Monday in December.
            ("cron(0 10 30W * ? *)", utc(2025, 11, 4, 0, 0), Some(utc(2025, 11, 28, 10, 0))),
            // April has no 31st; 2026-05-31 is a Sunday.
            ("cron(0 10 31W * ? *)", utc(2026, 4, 1, 0, 0), Some(utc(2026, 5, 29, 10, 0))),
            ("cron(0 0 31 * ? *)", utc(2026, 4, 1, 0, 0), Some(utc(2026, 5, 31, 0, 0))),
            // 2026-01-31 and 2026-10-31 are Saturdays.
            ("cron(0 10 LW * ? *)", utc(2026, 1, 1, 0, 0), Some(utc(2026, 1, 30, 10, 0))),
            ("cron(0 10 LW * ? *)", utc(2026, 10, 1, 0, 0), Some(utc(2026, 10, 30, 10, 0))),
            ("cron(0 17 ? * 6L *)", utc(2026, 11, 1, 0, 0), Some(utc(2026, 11, 27, 17, 0))),
            // `L` alone in day-of-week is its last day, Saturday.
            ("cron(0 0 ? * L *)", utc(2026, 11, 22, 0, 0), Some(utc(2026, 11, 28, 0, 0))),
            ("cron(30 9 ? * MON-FRI *)", utc(2026, 11, 27, 10, 0), Some(utc(2026, 11, 30, 9, 30))),
            ("cron(0/15 * * * ? *)", utc(2026, 6, 1, 12, 7) + 30, Some(utc(2026, 6, 1, 12, 15))),
            ("cron(0/15 * * * ? *)", utc(2026, 6, 1, 23, 45), Some(utc(2026, 6, 2, 0, 0))),
            ("cron(* * * * ? *)", utc(2026, 6, 1, 12, 7) + 59, Some(utc(2026, 6, 1, 12, 8))),
            ("cron(* * * * ? *)", utc(2026, 6, 1, 12, 7), Some(utc(2026, 6, 1, 12, 8))),
            ("cron(5 0,12 * * ? *)", utc(2026, 6, 1, 0, 6), Some(utc(2026, 6, 1, 12, 5))),
            ("cron(59 23 31 12 ? *)", utc(2026, 12, 31, 23, 59), Some(utc(2027, 12, 31, 23, 59))),
            // 2027-01-03 is the first Sunday of 2027, 2029-01-07 that of 2029.
            ("cron(0 9 ? * 1 2027/2)", utc(2026, 1, 1, 0, 0), Some(utc(2027, 1, 3, 9, 0))),
            ("cron(0 9 ? * 1 2027/2)", utc(2027, 12, 26, 9, 0), Some(utc(2029, 1, 7, 9, 0))),
            ("cron(0 0 1 1 ? 2020)", utc(2019, 6, 1, 0, 0), Some(utc(2020, 1, 1, 0, 0))),
            ("cron(0 0 1 1 ? 2020)", utc(2026, 6, 1, 0, 0), never),
            // Before 1970, the first firing is the first one EventBridge knows.
            ("cron(0 0 1 1 ? *)", -1_000, Some(0)),
            ("cron(* * * * ? *)", i64::MIN, Some(0)),
            ("cron(0 0 * * ? *)", utc(2199, 12, 30, 0, 0), Some(utc(2199, 12, 31, 0, 0))),
            ("cron(0 0 * * ? *)", utc(2199, 12, 31, 0, 0), never),
            // Past jiff's range (year 9999), and past what a minute boundary can hold.
            ("cron(* * * * ? *)", 253_402_300_800, never),
            ("cron(* * * * ? *)", i64::MAX - 59, never),
            ("cron(* * * * ? *)", i64::MAX, never),
            ("cron(0 0 30 2 ? *)", 0, never),
        ];
        for (expression, after, next) in cases {
            let schedule = Schedule::parse(expression).expect(expression);
            assert_eq!(schedule.next_after(after), next, "{expression} after {after}");
        }
    }

    /// Whether `cron` fires on `day`, decided from the definitions, one day at a time: an
    /// evaluation that shares nothing with the month masks of `in_month`.
    fn fires_on(cron: &Cron, day: Date) -> bool {
        if !cron.years.contains(day.year() as u32 - MIN_YEAR)
            || !cron.months.contains(day.month() as u32)
        {
            return false;
        }
        let (number, weekday) = (
            day.day() as u32,
            day.weekday().to_sunday_one_offset() as u32,
        );
        let in_month = |date: &Date| date.month() == day.month();
        let monday_to_friday = |date: &Date| date.weekday().to_monday_one_offset() <= 5;
        let month = || {
            let first = day.first_of_month();
            first
                .series(1.day())
                .take_while(in_month)
                .collect::<Vec<Date>>()
        };
        match cron.days {
            Days::OfMonth(MonthDays::Set(set)) => set.contains(number),
            Days::OfMonth(MonthDays::Last) => !in_month(&day.tomorrow().unwrap()),
            Days::OfMonth(MonthDays::LastWeekday) => {
                month().into_iter().rfind(monday_to_friday) == Some(day)
            }
            // The Monday-Friday of the month nearest day n (there is never a tie), if the
            // month has a day n.
            Days::OfMonth(MonthDays::NearestWeekday(n)) => {
                let month = month();
                n as usize <= month.len()
                    && month
                        .into_iter()
                        .filter(monday_to_friday)
                        .min_by_key(|date| (date.day() as u32).abs_diff(n))
                        == Some(day)
            }
            Days::OfWeek(WeekDays::Set(set)) => set.contains(weekday),
            Days::OfWeek(WeekDays::Last(w)) => {
                weekday == w && !in_month(&day.checked_add(7.days()).unwrap())
            }
            Days::OfWeek(WeekDays::Nth { weekday: w, nth }) => {
                weekday == w && (number - 1) / 7 + 1 == nth
            }
        }
    }

    /// The next firing found the slow way: day by day, then minute by minute.
    fn slow_next_after(cron: &Cron, after: i64) -> Option<i64> {
        let first = (after.div_euclid(60) + 1).max(0) * 60;
        let start = Offset::UTC.to_datetime(Timestamp::from_second(first).unwrap());
        let days = start.date().series(1.day());
        for day in days.take_while(|day| day.year() as u32 <= MAX_YEAR) {
            if !fires_on(cron, day) {
                continue;
            }
            let minutes = day.to_datetime(Time::midnight()).series(1.minute());
            let fires = |at: &DateTime| {
                cron.hours.contains(at.hour() as u32) && cron.minutes.contains(at.minute() as u32)
            };
            if let Some(at) = minutes
                .take_while(|at| at.date() == day)
                .filter(|at| *at >= start)
                .find(fires)
            {
                return Some(Offset::UTC.to_timestamp(at).unwrap().as_second());
            }
        }
        None
    }

    /// Expressions whose days are the evaluator's own work (the oracle of
    /// `tests/schedule_oracle.rs` checks the rest, and most of these too).
    #[rustfmt::skip]
    const SPECIAL: &[&str] = &[
        "cron(0/7 */5 * * ? *)", "cron(10,20 3 1-10/3 * ? *)", "cron(0 0 L FEB,MAR ? *)",
        "cron(59 23 LW * ? *)", "cron(0 6 1W * ? *)", "cron(0 6 30W * ? *)", "cron(0 6 31W * ? *)",
        "cron(30 12 ? * MON,THU *)", "cron(0 0 ? * SUN#2 *)", "cron(45 7 ? * 2L *)",
        "cron(0 0 ? * 4#5 *)", "cron(0 0 ? * L *)", "cron(0 0 29 2 ? *)", "cron(0 0 31 * ? *)",
        "cron(15 10 ? * 6#5 2030-2035)", "cron(0 0 1 1 ? 2100/4)", "cron(0 0 30 2 ? *)",
    ];

    proptest! {
        #[test]
        fn next_after_agrees_with_a_day_by_day_search(
            expression in proptest::sample::select(SPECIAL),
            // From 1969 to 2200, on any second.
            after in -31_536_000i64..7_289_654_400,
        ) {
            let cron = cron(expression);
            prop_assert_eq!(
                cron.next_after(after),
                slow_next_after(&cron, after),
                "{} after {}", expression, after
            );
        }
    }
}
