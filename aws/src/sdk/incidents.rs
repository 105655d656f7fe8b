//! Incident Manager on the SDK.

use async_trait::async_trait;

use super::{built, classify};
use crate::incidents::{IncidentSpec, Incidents};
use crate::{AwsError, Tag, api};

pub(crate) struct SdkIncidents {
    pub(crate) client: aws_sdk_ssmincidents::Client,
}

#[async_trait]
impl Incidents for SdkIncidents {
    async fn start_incident(&self, spec: &IncidentSpec) -> Result<String, AwsError> {
        let trigger = built(
            api::START_INCIDENT,
            aws_sdk_ssmincidents::types::TriggerDetails::builder()
                .source(&spec.source)
                .timestamp(aws_smithy_types::DateTime::from(
                    std::time::SystemTime::now(),
                ))
                .raw_data(&spec.raw_data)
                .build(),
        )?;
        let output = self
            .client
            .start_incident()
            .response_plan_arn(&spec.response_plan_arn)
            .title(&spec.title)
            .impact(i32::from(spec.impact))
            .trigger_details(trigger)
            .client_token(&spec.client_token)
            .send()
            .await
            .map_err(|e| classify(api::START_INCIDENT, e))?;
        Ok(output.incident_record_arn().to_string())
    }

    async fn tag_incident(&self, record_arn: &str, tags: &[Tag]) -> Result<(), AwsError> {
        let mut request = self.client.tag_resource().resource_arn(record_arn);
        for tag in tags {
            request = request.tags(&tag.key, &tag.value);
        }
        request
            .send()
            .await
            .map_err(|e| classify(api::TAG_INCIDENT, e))?;
        Ok(())
    }
}
