//! Reports on their schedules (`reporting.*_schedule_expression`, evaluated by spa in UTC).
//! Stateless: a report is due when its latest firing is newer than the object that holds
//! its period in the bucket. So a run missed while the controller was down happens when it
//! comes back — once, for the latest firing — and two replicas never need to agree on
//! anything but the bucket.

use std::time::Duration;

use spa_schema::Settings;
use spa_schema::schedule::Schedule;

use super::activities::{self, Month};
use super::{ReportSettings, inventory};
use crate::aws::{Aws, AwsError};
use crate::costs::fetch::CostError;
use crate::costs::report::CostSettings;
use crate::records::{Shadow, read_all};

/// How often the schedules are looked at.
const EVERY: Duration = Duration::from_secs(60);
/// After a failed look at the bucket, the next one waits this long.
const AFTER_FAILURE: Duration = Duration::from_secs(600);
/// A failed run is tried again after 10 minutes, then 20, 40… at most 6 hours apart: a run
/// that keeps failing (a missing permission) does not ask Cost Explorer, billed per
/// request, every ten minutes all day, nor hold up the other reports.
const RETRY_FIRST: Duration = Duration::from_secs(600);
const RETRY_MAX: Duration = Duration::from_secs(6 * 3600);

/// The runs that failed, and when each may be tried again. Holds only what is still due.
#[derive(Debug, Default)]
pub struct Retries {
    failed: Vec<(Due, u32, i64)>,
}

impl Retries {
    /// Forgets the runs no longer due (done by another replica, or a new period).
    pub fn keep_only(&mut self, due: &[Due]) {
        self.failed.retain(|(d, ..)| due.contains(d));
    }

    /// Whether `due` may run at `now` (seconds).
    pub fn ready(&self, due: &Due, now: i64) -> bool {
        self.failed
            .iter()
            .find(|(d, ..)| d == due)
            .is_none_or(|(_, _, at)| now >= *at)
    }

    /// Records a failure at `now`; when the next attempt may be.
    pub fn failed(&mut self, due: &Due, now: i64) -> i64 {
        let index = match self.failed.iter().position(|(d, ..)| d == due) {
            Some(index) => index,
            None => {
                self.failed.push((due.clone(), 0, 0));
                self.failed.len() - 1
            }
        };
        let entry = &mut self.failed[index];
        entry.1 = entry.1.saturating_add(1);
        let wait = crate::time::backoff(RETRY_FIRST, entry.1).min(RETRY_MAX);
        entry.2 = now.saturating_add(i64::try_from(wait.as_secs()).unwrap_or(i64::MAX));
        entry.2
    }

    /// Records a success.
    pub fn succeeded(&mut self, due: &Due) {
        self.failed.retain(|(d, ..)| d != due);
    }
}

/// The latest firing of `schedule` at or before `now` (seconds), within `within` seconds.
pub fn latest_firing(schedule: &Schedule, now: i64, within: i64) -> Option<i64> {
    let mut at = now.saturating_sub(within);
    let mut latest = None;
    // A schedule that fires every minute looks back at most this many firings.
    for _ in 0..50_000 {
        match schedule.next_after(at) {
            Some(next) if next <= now => {
                latest = Some(next);
                at = next;
            }
            _ => break,
        }
    }
    latest
}

/// The date (UTC) of a time in seconds, `YYYY-MM-DD`.
fn date_of(seconds: i64) -> String {
    crate::records::day_of(seconds.saturating_mul(1000))
}

/// Writes the inventory of `date` to the bucket; its key.
pub async fn upload_inventory(
    aws: &Aws,
    bucket: &str,
    settings: &ReportSettings,
    date: &str,
) -> Result<String, AwsError> {
    let (shadows, _) = read_all::<Shadow>(aws, &settings.tables.shadows).await?;
    let key = inventory::key(settings, date);
    aws.put_object(
        bucket,
        &key,
        inventory::csv(settings, &shadows).as_bytes(),
        "text/csv; charset=utf-8",
    )
    .await?;
    Ok(key)
}

/// Writes the activities of `month` to the bucket, one file per cost center, then the
/// month's manifest; their keys.
pub async fn upload_activities(
    aws: &Aws,
    bucket: &str,
    settings: &ReportSettings,
    month: Month,
) -> Result<Vec<String>, AwsError> {
    let (read, _) = activities::read(aws, settings, month).await?;
    let mut keys = Vec::new();
    for (cost_center, text) in activities::files(&read) {
        let key = activities::key(settings, month, &cost_center);
        aws.put_object(bucket, &key, text.as_bytes(), "text/csv; charset=utf-8")
            .await?;
        keys.push(key);
    }
    let manifest = serde_json::json!({
        "month": month.to_string(),
        "activities": read.len(),
        "files": keys,
    });
    aws.put_object(
        bucket,
        &activities::manifest_key(settings, month),
        format!("{manifest:#}\n").as_bytes(),
        "application/json",
    )
    .await?;
    Ok(keys)
}

/// A report and the period it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Due {
    Inventory {
        date: String,
    },
    Activities {
        month: Month,
    },
    /// The daily cost metric of a day (`YYYY-MM-DD`).
    DailyCosts {
        day: String,
    },
    /// The cost report of a month; `email`: the final one, which is mailed (once for the
    /// firing at `firing`, in seconds).
    MonthlyCosts {
        month: Month,
        email: bool,
        firing: i64,
    },
}

/// Whether the object at `key` is older than `firing` (or missing).
async fn older(aws: &Aws, bucket: &str, key: &str, firing: i64) -> Result<bool, AwsError> {
    Ok(aws
        .object_info(bucket, key)
        .await?
        .is_none_or(|o| o.modified_ms < firing.saturating_mul(1000)))
}

/// The reports due at `now` (seconds).
pub async fn due(
    aws: &Aws,
    bucket: &str,
    settings: &Settings,
    now: i64,
) -> Result<Vec<Due>, AwsError> {
    let report = ReportSettings::of(settings);
    let reporting = &settings.reporting;
    let mut due = Vec::new();
    if let Some(firing) = latest_firing(
        &reporting.inventories_schedule_expression.schedule,
        now,
        8 * 86_400,
    ) {
        let date = date_of(firing);
        if older(aws, bucket, &inventory::key(&report, &date), firing).await? {
            due.push(Due::Inventory { date });
        }
    }
    // The past month on day 1, the month so far weekly: one manifest per month says when
    // its files were last written.
    let monthly = [
        (&reporting.activities_schedule_expression.schedule, true),
        (
            &reporting
                .activities_month_to_date_schedule_expression
                .schedule,
            false,
        ),
    ];
    for (schedule, past) in monthly {
        if let Some(firing) = latest_firing(schedule, now, 32 * 86_400) {
            let month = Month::of(firing.saturating_mul(1000));
            let month = if past { month.previous() } else { month };
            let key = activities::manifest_key(&report, month);
            if older(aws, bucket, &key, firing).await? && !due.contains(&Due::Activities { month })
            {
                due.push(Due::Activities { month });
            }
        }
    }
    due.extend(costs_due(aws, bucket, settings, now).await?);
    Ok(due)
}

/// The cost runs due at `now` (seconds), when settings turn costs on. The early and the
/// final report of a month write the same files: when both are due (after a long outage),
/// only the final one runs.
async fn costs_due(
    aws: &Aws,
    bucket: &str,
    settings: &Settings,
    now: i64,
) -> Result<Vec<Due>, AwsError> {
    let costs = CostSettings::of(settings);
    let reporting = &settings.reporting;
    let mut due = Vec::new();
    if !costs.enabled {
        return Ok(due);
    }
    if let Some(firing) = latest_firing(
        &reporting.costs_daily_schedule_expression.schedule,
        now,
        2 * 86_400,
    ) {
        let day = crate::costs::daily::day_for(firing.saturating_mul(1000));
        if older(aws, bucket, &crate::costs::daily::key(&costs, &day), firing).await? {
            due.push(Due::DailyCosts { day });
        }
    }
    for (schedule, email) in [
        (&reporting.costs_final_schedule_expression.schedule, true),
        (&reporting.costs_early_schedule_expression.schedule, false),
    ] {
        if let Some(firing) = latest_firing(schedule, now, 32 * 86_400) {
            let month = Month::of(firing.saturating_mul(1000)).previous();
            let key = crate::costs::run::manifest_key(&costs, month);
            let planned = due
                .iter()
                .any(|d| matches!(d, Due::MonthlyCosts { month: m, .. } if *m == month));
            if !planned && older(aws, bucket, &key, firing).await? {
                due.push(Due::MonthlyCosts {
                    month,
                    email,
                    firing,
                });
            }
        }
    }
    Ok(due)
}

/// Runs one due report at `now` (seconds); the objects it wrote.
pub async fn run_one(
    aws: &Aws,
    http: &reqwest::Client,
    bucket: &str,
    settings: &Settings,
    due: &Due,
    now: i64,
) -> Result<usize, AwsError> {
    let report = ReportSettings::of(settings);
    let costs = CostSettings::of(settings);
    let failed = |e: CostError| match e {
        CostError::Aws(e) => e,
        other => AwsError::named(
            "GetCostAndUsage",
            crate::aws::ErrorKind::Terminal,
            "CostReport",
            other.to_string(),
        ),
    };
    match due {
        Due::Inventory { date } => upload_inventory(aws, bucket, &report, date)
            .await
            .map(|_| 1),
        Due::Activities { month } => upload_activities(aws, bucket, &report, *month)
            .await
            .map(|keys| keys.len() + 1),
        Due::DailyCosts { day } => crate::costs::run::daily(aws, bucket, &costs, day)
            .await
            .map(|_| 1)
            .map_err(failed),
        Due::MonthlyCosts {
            month,
            email,
            firing,
        } => {
            let today = date_of(now);
            let mail = match email {
                true => crate::costs::run::Mail::Once {
                    since_ms: firing.saturating_mul(1000),
                },
                false => crate::costs::run::Mail::No,
            };
            crate::costs::run::monthly(aws, http, bucket, &costs, *month, &today, mail)
                .await
                .map(|(_, manifest)| manifest.files.len() + 1)
                .map_err(failed)
        }
    }
}

/// Runs the reports as they come due, while `may_run` says so (the leader, not suspended),
/// with the settings `settings` gives now. Runs until dropped.
pub async fn run(
    aws: Aws,
    bucket: String,
    clock: crate::aws::Clock,
    settings: impl Fn() -> std::sync::Arc<Settings> + Send + Sync,
    may_run: impl Fn() -> bool + Send + Sync,
) {
    let http = crate::outbound::client();
    let mut retries = Retries::default();
    loop {
        tokio::time::sleep(EVERY).await;
        if !may_run() {
            continue;
        }
        let settings = settings();
        let now = clock() / 1000;
        let due = match due(&aws, &bucket, &settings, now).await {
            Ok(due) => due,
            Err(error) => {
                tracing::warn!("cannot tell which reports are due: {error}");
                tokio::time::sleep(AFTER_FAILURE).await;
                continue;
            }
        };
        retries.keep_only(&due);
        for report in due {
            if !retries.ready(&report, now) {
                continue;
            }
            match run_one(&aws, &http, &bucket, &settings, &report, now).await {
                Ok(objects) => {
                    retries.succeeded(&report);
                    tracing::info!(?report, objects, "report written");
                }
                Err(error) => {
                    let at = retries.failed(&report, now);
                    tracing::warn!(
                        ?report,
                        next_attempt = %jiff::Timestamp::from_second(at)
                            .map(crate::time::rfc3339)
                            .unwrap_or_default(),
                        "cannot write a report: {error}"
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_runs_wait_longer_each_time_and_are_forgotten_when_no_longer_due() {
        let a = Due::Inventory {
            date: "2026-11-28".into(),
        };
        let b = Due::DailyCosts {
            day: "2026-12-01".into(),
        };
        let mut retries = Retries::default();
        assert!(retries.ready(&a, 0));
        let waits: Vec<i64> = (0..8)
            .map(|_| {
                let at = retries.failed(&a, 1000);
                at - 1000
            })
            .collect();
        assert_eq!(waits, [600, 1200, 2400, 4800, 9600, 19_200, 21_600, 21_600]);
        assert!(!retries.ready(&a, 1000 + 21_599));
        assert!(retries.ready(&a, 1000 + 21_600));
        assert!(retries.ready(&b, 1000), "one failing run holds up no other");
        retries.failed(&b, 1000);
        retries.succeeded(&b);
        assert!(retries.ready(&b, 1000));
        retries.keep_only(std::slice::from_ref(&b));
        assert!(retries.ready(&a, 1000), "no longer due: forgotten");
        assert!(retries.failed.is_empty());
    }

    #[test]
    fn the_latest_firing_is_found_within_its_window() {
        let saturday = Schedule::parse("cron(23 3 ? * SAT *)").unwrap();
        // Thursday 2026-12-03 06:31 UTC: the latest firing is Saturday 2026-11-28 03:23.
        let now = 1_796_279_460;
        let firing = latest_firing(&saturday, now, 8 * 86_400).unwrap();
        assert_eq!(date_of(firing), "2026-11-28");
        assert_eq!(firing % 86_400, 3 * 3600 + 23 * 60);
        assert_eq!(latest_firing(&saturday, now, 3 * 86_400), None);
    }
}
