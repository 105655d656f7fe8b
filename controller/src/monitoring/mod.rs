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

    /// Sends what was counted; on failure the counts are kept for the next flush.
    pub async fn flush(&self, aws: &Aws, now_ms: i64) -> Result<usize, AwsError> {
        let data = self.take(now_ms);
        if data.is_empty() {
            return Ok(0);
        }
        match aws.put_metric_data(NAMESPACE, &data).await {
            Ok(()) => Ok(data.len()),
            Err(error) => {
                for datum in data.into_iter().filter(|d| d.unit == "Count") {
                    let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
                    if counts.len() < MAX_SERIES {
                        *counts.entry((datum.name, datum.dimensions)).or_default() += datum.value;
                    }
                }
                Err(error)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
