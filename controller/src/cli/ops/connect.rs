//! AWS, reached as the flags and the settings say, and what it holds of what the settings
//! manage.

use std::sync::atomic::Ordering;
use std::time::Duration;

use spa_schema::Settings;

use crate::aws::{Aws, Family};
use crate::cli::args::AwsArgs;
use crate::cli::{Failure, Term};
use crate::observe::{Observation, Progress};

/// A runtime for the commands that call AWS or the controller.
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| {
            Failure::Runtime(anyhow::Error::new(e).context("cannot start the async runtime"))
        })
}

/// The door to AWS, configured from the flags and (region, roles) the settings.
pub async fn connect(args: &AwsArgs, settings: Option<&Settings>) -> Aws {
    crate::aws::sdk::connect(&args.options(settings), args.limiters()).await
}

/// When an observation takes longer than this, how far it is shows on stderr.
const QUIET: Duration = Duration::from_secs(2);
/// And then every so often.
const EVERY: Duration = Duration::from_secs(5);
/// How often a progress bar is brought up to date.
const BAR_EVERY: Duration = Duration::from_millis(250);

/// One line of progress: what is read, and how long the rest takes at the tag quota.
pub fn progress_line(progress: &Progress, rate_per_second: f64, elapsed: Duration) -> String {
    let found = progress.accounts_found.load(Ordering::Relaxed);
    let read = progress.tags_read.load(Ordering::Relaxed);
    let listed = progress.listed.load(Ordering::Relaxed);
    let found_text = if listed {
        format!("{found} accounts")
    } else {
        format!("{found} accounts found so far")
    };
    let left = if listed && found > read && rate_per_second > 0.0 {
        let seconds = ((found - read) as f64 / rate_per_second).ceil() as u64;
        format!(
            ", about {} left",
            crate::time::human_duration(Duration::from_secs(seconds))
        )
    } else {
        String::new()
    };
    format!(
        "observing: tags read for {read} of {found_text} ({}{left})\n",
        crate::time::human_duration(elapsed)
    )
}

/// Connects and observes what the settings manage; fails when even the organization
/// cannot be read (a partial observation is returned: callers say what it misses). An
/// observation that takes a while says how far it is on `term`'s stderr.
pub fn connect_and_observe(
    runtime: &tokio::runtime::Runtime,
    args: &AwsArgs,
    settings: &Settings,
    term: &Term,
) -> Result<(Aws, Observation), Failure> {
    let rate = args
        .rate_limits
        .iter()
        .rev()
        .find(|(family, _)| *family == Family::OrgListTags)
        .map_or(Family::OrgListTags.default_quota().rate, |(_, quota)| {
            quota.rate
        });
    let (aws, observation) = runtime.block_on(async {
        let aws = connect(args, Some(settings)).await;
        let progress = Progress::default();
        let started = tokio::time::Instant::now();
        let observation = {
            let observing = crate::observe::observe_reporting(&aws, settings, &progress);
            tokio::pin!(observing);
            // A bar on a terminal, redrawn often; elsewhere a line every few seconds.
            let bar = term.progress("observing: tags read");
            let (first, every) = match bar {
                Some(_) => (QUIET, BAR_EVERY),
                None => (QUIET, EVERY),
            };
            let mut ticker = tokio::time::interval_at(started + first, every);
            let observation = loop {
                tokio::select! {
                    observation = &mut observing => break observation,
                    _ = ticker.tick() => match &bar {
                        Some(bar) => {
                            let listed = progress.listed.load(Ordering::Relaxed);
                            let found = progress.accounts_found.load(Ordering::Relaxed) as u64;
                            let note = if listed { "accounts" } else { "accounts found so far" };
                            bar.update(
                                progress.tags_read.load(Ordering::Relaxed) as u64,
                                Some(found).filter(|_| listed),
                                note,
                            );
                        }
                        None => term.err(&progress_line(&progress, rate, started.elapsed())),
                    },
                }
            };
            if let Some(bar) = bar {
                bar.finish();
            }
            observation
        };
        (aws, observation)
    });
    if observation.root_id.is_none() && !observation.complete {
        let first = observation
            .errors
            .first()
            .map(|e| e.message.clone())
            .unwrap_or_default();
        return Err(Failure::Runtime(anyhow::anyhow!(
            "cannot read the organization: {first}"
        )));
    }
    Ok((aws, observation))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_progress_line_says_what_is_left_once_everything_is_listed() {
        let progress = Progress::default();
        progress.accounts_found.store(10_000, Ordering::Relaxed);
        progress.tags_read.store(1_000, Ordering::Relaxed);
        assert_eq!(
            progress_line(&progress, 10.0, Duration::from_secs(100)),
            "observing: tags read for 1000 of 10000 accounts found so far (2 min)\n"
        );
        progress.listed.store(true, Ordering::Relaxed);
        assert_eq!(
            progress_line(&progress, 10.0, Duration::from_secs(100)),
            "observing: tags read for 1000 of 10000 accounts (2 min, about 15 min left)\n"
        );
    }
}
