//! Incident Manager in memory (the emulator has no backend for it): the incidents started,
//! their tags, and a response plan that may be missing.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::Behaviour;
use crate::incidents::{IncidentSpec, Incidents};
use crate::{AwsError, ErrorKind, Tag, api};

#[derive(Debug, Default)]
pub struct FakeIncidents {
    state: Mutex<IncidentsState>,
    pub behaviour: Behaviour,
}

#[derive(Debug, Default)]
struct IncidentsState {
    /// Response plans that exist; empty: any plan exists.
    plans: Vec<String>,
    started: Vec<(String, IncidentSpec)>,
    tags: BTreeMap<String, Vec<Tag>>,
}

impl FakeIncidents {
    fn lock(&self) -> std::sync::MutexGuard<'_, IncidentsState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Only these response plans exist from now on.
    pub fn with_plans(&self, plans: &[&str]) {
        self.lock().plans = plans.iter().map(|p| p.to_string()).collect();
    }

    /// The incidents started: (record ARN, spec).
    pub fn started(&self) -> Vec<(String, IncidentSpec)> {
        self.lock().started.clone()
    }

    pub fn tags_of(&self, record_arn: &str) -> Vec<Tag> {
        self.lock()
            .tags
            .get(record_arn)
            .cloned()
            .unwrap_or_default()
    }
}

#[async_trait]
impl Incidents for FakeIncidents {
    async fn start_incident(&self, spec: &IncidentSpec) -> Result<String, AwsError> {
        self.behaviour
            .enter(api::START_INCIDENT, &spec.response_plan_arn)
            .await?;
        let mut state = self.lock();
        if !state.plans.is_empty() && !state.plans.contains(&spec.response_plan_arn) {
            return Err(AwsError::new(
                api::START_INCIDENT,
                ErrorKind::NotFound,
                "ResourceNotFoundException",
                format!("Response plan {} not found", spec.response_plan_arn),
            ));
        }
        // One incident per client token, as AWS does.
        if let Some((arn, _)) = state
            .started
            .iter()
            .find(|(_, s)| s.client_token == spec.client_token)
        {
            return Ok(arn.clone());
        }
        let arn = format!(
            "{}/incident-{}",
            spec.response_plan_arn
                .replace(":response-plan/", ":incident-record/"),
            state.started.len() + 1
        );
        state.started.push((arn.clone(), spec.clone()));
        Ok(arn)
    }

    async fn tag_incident(&self, record_arn: &str, tags: &[Tag]) -> Result<(), AwsError> {
        self.behaviour.enter(api::TAG_INCIDENT, record_arn).await?;
        self.lock()
            .tags
            .entry(record_arn.to_string())
            .or_default()
            .extend(tags.iter().cloned());
        Ok(())
    }
}
