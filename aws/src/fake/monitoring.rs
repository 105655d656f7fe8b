//! CloudWatch in memory: metric values kept as sent, dashboards by name.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::Behaviour;
use crate::monitoring::{Datum, MAX_VALUES_PER_CALL};
use crate::{AwsError, ErrorKind, Monitoring, api};

#[derive(Debug, Default)]
pub struct FakeMonitoring {
    data: Mutex<Vec<(String, Datum)>>,
    dashboards: Mutex<BTreeMap<String, String>>,
    /// PutMetricData calls still taken before CloudWatch fails (`None`: all).
    calls_left: Mutex<Option<usize>>,
    pub behaviour: Behaviour,
}

impl FakeMonitoring {
    /// Takes `calls` more PutMetricData calls, then fails every one (service unavailable,
    /// past the door's retries): a flush cut short after some of its calls.
    pub fn fail_after(&self, calls: usize) {
        *self.calls_left.lock().unwrap_or_else(|p| p.into_inner()) = Some(calls);
    }

    /// Every value sent, with its namespace.
    pub fn data(&self) -> Vec<(String, Datum)> {
        self.data.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn dashboard_body(&self, name: &str) -> Option<String> {
        self.dashboards
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .cloned()
    }

    /// A dashboard edited by hand (drift).
    pub fn set_dashboard(&self, name: &str, body: &str) {
        self.dashboards
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_string(), body.to_string());
    }
}

#[async_trait]
impl Monitoring for FakeMonitoring {
    async fn put_metric_data(&self, namespace: &str, data: &[Datum]) -> Result<(), AwsError> {
        self.behaviour
            .enter(api::PUT_METRIC_DATA, namespace)
            .await?;
        if let Some(left) = self
            .calls_left
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
        {
            if *left == 0 {
                return Err(AwsError::new(
                    api::PUT_METRIC_DATA,
                    ErrorKind::Terminal,
                    "ServiceUnavailable",
                    "injected by the fake",
                ));
            }
            *left -= 1;
        }
        if data.len() > MAX_VALUES_PER_CALL {
            return Err(AwsError::new(
                api::PUT_METRIC_DATA,
                ErrorKind::Terminal,
                "InvalidParameterValue",
                format!(
                    "{} values in one call: at most {MAX_VALUES_PER_CALL}",
                    data.len()
                ),
            ));
        }
        // As CloudWatch: one bad dimension value refuses the whole call.
        if let Some((name, value)) = data
            .iter()
            .flat_map(|d| &d.dimensions)
            .find(|(_, v)| !crate::monitoring::valid_dimension_value(v))
        {
            return Err(AwsError::new(
                api::PUT_METRIC_DATA,
                ErrorKind::Terminal,
                "InvalidParameterValue",
                format!("the value of dimension {name} ({value:?}) must be ASCII and not blank"),
            ));
        }
        self.data
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend(data.iter().map(|d| (namespace.to_string(), d.clone())));
        Ok(())
    }

    async fn get_dashboard(&self, name: &str) -> Result<Option<String>, AwsError> {
        self.behaviour.enter(api::GET_DASHBOARD, name).await?;
        Ok(self.dashboard_body(name))
    }

    async fn put_dashboard(&self, name: &str, body: &str) -> Result<(), AwsError> {
        self.behaviour.enter(api::PUT_DASHBOARD, name).await?;
        if serde_json::from_str::<serde_json::Value>(body).is_err() {
            return Err(AwsError::new(
                api::PUT_DASHBOARD,
                ErrorKind::Terminal,
                "InvalidParameterInput",
                "the dashboard body is not JSON",
            ));
        }
        self.set_dashboard(name, body);
        Ok(())
    }
}
