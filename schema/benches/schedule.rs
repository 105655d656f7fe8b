#![allow(clippy::print_stdout)] // a benchmark reports on stdout
//! Benchmark: the maintenance window of 10,000 released accounts. The life cycle asks each
//! account's window for its next firing after the time the account was released, so this
//! evaluates `Schedule::next_after` once per account, each from its own reference time,
//! for a few windows: the usual weekly one and some that make the evaluator work harder
//! (last weekday, n-th weekday, leap days, a year list that ends, and one that never fires:
//! the worst case, which walks every February to 2199).
//!
//! `cargo bench -p spa-schema --bench schedule` (`-- --runs N` for another number of runs).

use std::hint::black_box;
use std::time::{Duration, Instant};

use spa_schema::schedule::Schedule;

const ACCOUNTS: i64 = 10_000;

/// 2026-01-01T00:00:00Z.
const START: i64 = 1_767_225_600;

const WINDOWS: [&str; 7] = [
    "cron(0 18 ? * SAT *)",
    "cron(30 9 ? * MON-FRI *)",
    "cron(0 10 LW * ? *)",
    "cron(0 9 ? * MON#1 *)",
    "cron(0 0 29 2 ? *)",
    "cron(0 0 1 1 ? 2026-2030)",
    "cron(0 0 30 2 ? *)",
];

fn argument(args: &[String], name: &str) -> Option<usize> {
    let position = args.iter().position(|a| a == name)?;
    args.get(position + 1)?.parse().ok()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let runs = argument(&args, "--runs").unwrap_or(15).max(1);
    // Release times spread over about three years, seconds included, as tags record them.
    let released: Vec<i64> = (0..ACCOUNTS)
        .map(|account| START + account * 9_467 + account % 60)
        .collect();
    for window in WINDOWS {
        let schedule = Schedule::parse(window).expect("the benchmark's windows are valid");
        let mut times: Vec<Duration> = Vec::with_capacity(runs);
        let mut due = 0;
        for _ in 0..runs {
            let start = Instant::now();
            due = released
                .iter()
                .filter_map(|&since| schedule.next_after(black_box(since)))
                .count();
            times.push(start.elapsed());
        }
        times.sort();
        let per_account = |time: Duration| time.as_secs_f64() * 1e9 / ACCOUNTS as f64;
        println!(
            "{window:<28} {ACCOUNTS} accounts ({due} with a next firing), median of {runs}: \
             {:.2} ms ({:.0} ns per account; min {:.2} ms)",
            times[times.len() / 2].as_secs_f64() * 1000.0,
            per_account(times[times.len() / 2]),
            times[0].as_secs_f64() * 1000.0,
        );
    }
}
