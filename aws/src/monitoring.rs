//! CloudWatch of the automation account: the fleet's metrics and the dashboard.

use async_trait::async_trait;

use crate::{Aws, AwsError, Page, api};

/// PutMetricData takes at most this many values in one call.
pub const MAX_VALUES_PER_CALL: usize = 1000;

/// One value of a metric.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Datum {
    pub name: String,
    /// Dimension name → value.
    pub dimensions: Vec<(String, String)>,
    pub value: f64,
    /// Milliseconds since the epoch.
    pub timestamp_ms: i64,
    /// `Count` or `None` (AWS's unit names).
    pub unit: String,
}

/// A metric as ListMetrics tells it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct MetricId {
    pub name: String,
    pub dimensions: Vec<(String, String)>,
}

/// The backend of CloudWatch.
#[async_trait]
pub trait Monitoring: Send + Sync {
    /// At most [`MAX_VALUES_PER_CALL`] values.
    async fn put_metric_data(&self, namespace: &str, data: &[Datum]) -> Result<(), AwsError>;
    async fn list_metrics(
        &self,
        namespace: &str,
        next_token: Option<String>,
    ) -> Result<Page<MetricId>, AwsError>;
    /// The body of a dashboard, `None` when it does not exist.
    async fn get_dashboard(&self, name: &str) -> Result<Option<String>, AwsError>;
    async fn put_dashboard(&self, name: &str, body: &str) -> Result<(), AwsError>;
}

impl Aws {
    /// Sends metric values, in as few calls as PutMetricData allows.
    pub async fn put_metric_data(&self, namespace: &str, data: &[Datum]) -> Result<(), AwsError> {
        let monitoring = &self.backends.monitoring;
        for chunk in data.chunks(MAX_VALUES_PER_CALL) {
            self.call(api::PUT_METRIC_DATA, || {
                monitoring.put_metric_data(namespace, chunk)
            })
            .await?;
        }
        Ok(())
    }

    pub async fn metrics(&self, namespace: &str) -> Result<Vec<MetricId>, AwsError> {
        let monitoring = &self.backends.monitoring;
        self.all_pages(api::LIST_METRICS, |t| monitoring.list_metrics(namespace, t))
            .await
    }

    pub async fn dashboard(&self, name: &str) -> Result<Option<String>, AwsError> {
        let monitoring = &self.backends.monitoring;
        self.call(api::GET_DASHBOARD, || monitoring.get_dashboard(name))
            .await
    }

    pub async fn put_dashboard(&self, name: &str, body: &str) -> Result<(), AwsError> {
        let monitoring = &self.backends.monitoring;
        self.call(api::PUT_DASHBOARD, || monitoring.put_dashboard(name, body))
            .await
    }
}
