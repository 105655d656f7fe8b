//! Incident Manager of the automation account: an incident per exception, started from the
//! response plan of the settings, tagged so that people can find the account's incidents.

use async_trait::async_trait;

use crate::{Aws, AwsError, Tag, api};

/// What an incident is started with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentSpec {
    pub response_plan_arn: String,
    pub title: String,
    /// 1 (critical) to 5 (no impact).
    pub impact: u8,
    /// Where the incident comes from (`spa`), and the exception as JSON.
    pub source: String,
    pub raw_data: String,
    /// Idempotency: one incident per token (AWS keeps the first).
    pub client_token: String,
    /// Links shown with the incident (related items of type attachment).
    pub related: Vec<RelatedLink>,
}

/// A link shown with an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelatedLink {
    pub title: String,
    pub url: String,
}

/// The backend of Incident Manager.
#[async_trait]
pub trait Incidents: Send + Sync {
    /// Starts an incident; returns the ARN of its record.
    async fn start_incident(&self, spec: &IncidentSpec) -> Result<String, AwsError>;
    async fn tag_incident(&self, record_arn: &str, tags: &[Tag]) -> Result<(), AwsError>;
}

impl Aws {
    pub async fn start_incident(&self, spec: &IncidentSpec) -> Result<String, AwsError> {
        let incidents = &self.backends.incidents;
        self.call(api::START_INCIDENT, || incidents.start_incident(spec))
            .await
    }

    pub async fn tag_incident(&self, record_arn: &str, tags: &[Tag]) -> Result<(), AwsError> {
        let incidents = &self.backends.incidents;
        self.call(api::TAG_INCIDENT, || {
            incidents.tag_incident(record_arn, tags)
        })
        .await
    }
}
