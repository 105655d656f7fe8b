//! CloudWatch of the automation account: the fleet's metrics and the dashboard.

use async_trait::async_trait;

use crate::{Aws, AwsError, api};

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

/// Whether CloudWatch takes `value` as a dimension value: 1 to 1,024 ASCII characters, not
/// all whitespace (it refuses the whole call otherwise).
pub fn valid_dimension_value(value: &str) -> bool {
    value.len() <= 1024 && value.is_ascii() && !value.trim().is_empty()
}

/// The backend of CloudWatch.
#[async_trait]
pub trait Monitoring: Send + Sync {
    /// At most [`MAX_VALUES_PER_CALL`] values.
    async fn put_metric_data(&self, namespace: &str, data: &[Datum]) -> Result<(), AwsError>;
    /// The body of a dashboard, `None` when it does not exist.
    async fn get_dashboard(&self, name: &str) -> Result<Option<String>, AwsError>;
    async fn put_dashboard(&self, name: &str, body: &str) -> Result<(), AwsError>;
}

impl Aws {
    /// Sends metric values, in as few calls as PutMetricData allows. A value with a
    /// dimension value CloudWatch refuses (a cost center named `Zürich`, an empty one) is
    /// left out with a warning: one would fail the call of a thousand others.
    pub async fn put_metric_data(&self, namespace: &str, data: &[Datum]) -> Result<(), AwsError> {
        let monitoring = &self.backends.monitoring;
        let (data, refused): (Vec<&Datum>, Vec<&Datum>) = data
            .iter()
            .partition(|d| d.dimensions.iter().all(|(_, v)| valid_dimension_value(v)));
        for datum in &refused {
            tracing::warn!(
                metric = %datum.name,
                dimensions = ?datum.dimensions,
                "left out: CloudWatch takes only ASCII dimension values of 1 to 1,024 characters"
            );
        }
        let data: Vec<Datum> = data.into_iter().cloned().collect();
        for chunk in data.chunks(MAX_VALUES_PER_CALL) {
            self.call(api::PUT_METRIC_DATA, || {
                monitoring.put_metric_data(namespace, chunk)
            })
            .await?;
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn datum(center: &str) -> Datum {
        Datum {
            name: "DailyCostsByCostCenter".into(),
            dimensions: vec![("CostCenter".into(), center.into())],
            value: 1.0,
            timestamp_ms: 0,
            unit: "None".into(),
        }
    }

    /// CloudWatch refuses a whole call for one non-ASCII or blank dimension value: such a
    /// value is left out, the others are sent.
    #[tokio::test]
    async fn values_cloudwatch_would_refuse_are_left_out_and_the_rest_is_sent() {
        let fakes = crate::fake::Fakes::default();
        let aws = fakes.aws();
        let data = [
            datum("CC-1"),
            datum("R&D Zürich"),
            datum("  "),
            datum("CC-2"),
        ];
        assert!(
            fakes.monitoring.put_metric_data("N", &data).await.is_err(),
            "the fake refuses as CloudWatch does"
        );
        aws.put_metric_data("N", &data).await.unwrap();
        let sent: Vec<String> = fakes
            .monitoring
            .data()
            .into_iter()
            .map(|(_, d)| d.dimensions[0].1.clone())
            .collect();
        assert_eq!(sent, ["CC-1", "CC-2"]);
    }
}
