//! CloudWatch on the SDK.

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::{classify, text};
use crate::monitoring::Datum;
use crate::{AwsError, ErrorKind, Monitoring, api};

pub(crate) struct SdkMonitoring {
    pub(crate) client: aws_sdk_cloudwatch::Client,
}

fn datum(datum: &Datum) -> Result<MetricDatum, AwsError> {
    let dimensions = datum
        .dimensions
        .iter()
        .map(|(name, value)| Dimension::builder().name(name).value(value).build())
        .collect();
    Ok(MetricDatum::builder()
        .metric_name(&datum.name)
        .set_dimensions(Some(dimensions))
        .value(datum.value)
        .timestamp(aws_smithy_types::DateTime::from_millis(datum.timestamp_ms))
        .unit(StandardUnit::from(datum.unit.as_str()))
        .build())
}

#[async_trait]
impl Monitoring for SdkMonitoring {
    async fn put_metric_data(&self, namespace: &str, data: &[Datum]) -> Result<(), AwsError> {
        let data = data.iter().map(datum).collect::<Result<Vec<_>, _>>()?;
        self.client
            .put_metric_data()
            .namespace(namespace)
            .set_metric_data(Some(data))
            .send()
            .await
            .map_err(|e| classify(api::PUT_METRIC_DATA, e))?;
        Ok(())
    }

    async fn get_dashboard(&self, name: &str) -> Result<Option<String>, AwsError> {
        match self
            .client
            .get_dashboard()
            .dashboard_name(name)
            .send()
            .await
        {
            Ok(output) => Ok(output.dashboard_body().map(str::to_string)),
            Err(error) if error.code() == Some("ResourceNotFound") => Ok(None),
            Err(error) => {
                let error = classify(api::GET_DASHBOARD, error);
                if error.kind == ErrorKind::NotFound {
                    Ok(None)
                } else {
                    Err(error)
                }
            }
        }
    }

    async fn put_dashboard(&self, name: &str, body: &str) -> Result<(), AwsError> {
        let output = self
            .client
            .put_dashboard()
            .dashboard_name(name)
            .dashboard_body(body)
            .send()
            .await
            .map_err(|e| classify(api::PUT_DASHBOARD, e))?;
        // CloudWatch accepts a dashboard with problems and says which.
        let problems: Vec<String> = output
            .dashboard_validation_messages()
            .iter()
            .map(|m| format!("{}: {}", text(m.data_path()), text(m.message())))
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(AwsError::new(
                api::PUT_DASHBOARD,
                ErrorKind::Terminal,
                "DashboardValidation",
                problems.join("; "),
            ))
        }
    }
}
