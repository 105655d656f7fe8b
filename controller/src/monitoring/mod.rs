//! The fleet's metrics in CloudWatch (docs/operations.md): counts of account events,
//! transactions and exceptions, and the controller's own health, in the namespace
//! `SustainablePersonalAccount` with the dimension `Environment` on every metric. Values are
//! added up in memory and sent once a minute, up to 1,000 a call.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::aws::monitoring::Datum;
use crate::aws::{Aws, AwsError};

pub mod dashboard;

pub const NAMESPACE: &str = "SustainablePersonalAccount";

/// Series kept between flushes at most: past it, new series wait for the next minute (the
/// counts they would add are counted as dropped).
const MAX_SERIES: usize = 50_000;
/// Values per PutMetricData call (CloudWatch's limit).
const PER_CALL: usize = crate::aws::monitoring::MAX_VALUES_PER_CALL;

type Series = (String, Vec<(String, String)>);

/// Values to send, added up per metric and dimensions until the next flush.
#[derive(Debug, Default)]
pub struct FleetMetrics {
    environment: Mutex<String>,
    counts: Mutex<BTreeMap<Series, f64>>,
    gauges: Mutex<BTreeMap<Series, f64>>,
    pub dropped: std::sync::atomic::AtomicU64,
}

impl FleetMetrics {
    pub fn new(environment: &str) -> FleetMetrics {
        FleetMetrics {
            environment: Mutex::new(environment.to_string()),
            ..FleetMetrics::default()
        }
    }

    pub fn set_environment(&self, environment: &str) {
        *self.environment.lock().unwrap_or_else(|p| p.into_inner()) = environment.to_string();
    }

    fn series(&self, name: &str, dimension: Option<(&str, &str)>) -> Series {
        let environment = self
            .environment
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let mut dimensions = vec![("Environment".to_string(), environment)];
        if let Some((key, value)) = dimension {
            dimensions.push((key.to_string(), value.to_string()));
        }
        (name.to_string(), dimensions)
    }

    /// Adds `by` to a count (`AccountEventsByLabel`, Label = …).
    pub fn count(&self, name: &str, dimension: (&str, &str), by: f64) {
        let series = self.series(name, Some(dimension));
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if counts.len() >= MAX_SERIES && !counts.contains_key(&series) {
            self.dropped
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return;
        }
        *counts.entry(series).or_default() += by;
    }

    /// Sets a level (`LifecycleQueueDepth`), with the environment only or one dimension more.
    pub fn gauge(&self, name: &str, dimension: Option<(&str, &str)>, value: f64) {
        let series = self.series(name, dimension);
        self.gauges
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(series, value);
    }

    /// What to send now: every count since the last flush, and the levels.
    pub fn take(&self, now_ms: i64) -> Vec<Datum> {
        let counts = std::mem::take(&mut *self.counts.lock().unwrap_or_else(|p| p.into_inner()));
        let gauges = std::mem::take(&mut *self.gauges.lock().unwrap_or_else(|p| p.into_inner()));
        counts
            .into_iter()
            .map(|(series, value)| (series, value, "Count"))
            .chain(
                gauges
                    .into_iter()
                    .map(|(series, value)| (series, value, "None")),
            )
            .map(|((name, dimensions), value, unit)| Datum {
                name,
                dimensions,
                value,
                timestamp_ms: now_ms,
                unit: unit.to_string(),
            })
            .collect()
    }

    /// Sends what was counted, a call per [`PER_CALL`] values; on failure the counts of
    /// the calls not made or refused are kept for the next flush (those CloudWatch took
    /// are never sent twice).
    pub async fn flush(&self, aws: &Aws, now_ms: i64) -> Result<usize, AwsError> {
        let data = self.take(now_ms);
        let mut chunks = data.chunks(PER_CALL);
        let mut sent = 0;
        while let Some(chunk) = chunks.next() {
            if let Err(error) = aws.put_metric_data(NAMESPACE, chunk).await {
                let unsent = chunk.iter().chain(chunks.flatten());
                let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
                for datum in unsent.filter(|d| d.unit == "Count") {
                    let series = (datum.name.clone(), datum.dimensions.clone());
                    if counts.len() < MAX_SERIES || counts.contains_key(&series) {
                        *counts.entry(series).or_default() += datum.value;
                    }
                }
                return Err(error);
            }
            sent += chunk.len();
        }
        Ok(sent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_flush_cut_short_keeps_only_what_cloudwatch_did_not_take() {
        let fakes = crate::aws::fake::Fakes::default();
        let aws = fakes.aws();
        let metrics = FleetMetrics::new("SpaTest");
        // 2,500 series: three calls of at most 1,000 values.
        for n in 0..2_500 {
            metrics.count("LoginsByAccount", ("Account", &format!("{n:012}")), 1.0);
        }
        fakes.monitoring.fail_after(1);
        assert!(metrics.flush(&aws, 1_000).await.is_err());
        assert_eq!(
            fakes.monitoring.data().len(),
            1_000,
            "the first call was taken"
        );
        fakes.monitoring.fail_after(usize::MAX);
        assert_eq!(
            metrics.flush(&aws, 2_000).await.unwrap(),
            1_500,
            "only the rest again"
        );
        let data = fakes.monitoring.data();
        assert_eq!(data.len(), 2_500);
        let mut sent: Vec<&str> = data
            .iter()
            .map(|(_, d)| d.dimensions[1].1.as_str())
            .collect();
        sent.sort_unstable();
        sent.dedup();
        assert_eq!(sent.len(), 2_500, "each series sent once");
        assert!(data.iter().all(|(_, d)| d.value == 1.0));
    }

    #[test]
    fn counts_add_up_until_taken() {
        let metrics = FleetMetrics::new("SpaTest");
        metrics.count("AccountEventsByLabel", ("Label", "CreatedAccount"), 1.0);
        metrics.count("AccountEventsByLabel", ("Label", "CreatedAccount"), 1.0);
        metrics.count("ExceptionsByLabel", ("Label", "GenericException"), 1.0);
        metrics.gauge("LifecycleQueueDepth", None, 7.0);
        let data = metrics.take(1_000);
        assert_eq!(data.len(), 3);
        let created = data
            .iter()
            .find(|d| d.name == "AccountEventsByLabel")
            .unwrap();
        assert_eq!(created.value, 2.0);
        assert_eq!(
            created.dimensions,
            [
                ("Environment".to_string(), "SpaTest".to_string()),
                ("Label".to_string(), "CreatedAccount".to_string())
            ]
        );
        assert!(metrics.take(2_000).is_empty(), "taken once");
    }
}
