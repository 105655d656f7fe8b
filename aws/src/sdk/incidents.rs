//! Incident Manager on the SDK.

use async_trait::async_trait;

use aws_sdk_ssmincidents::types::{ItemIdentifier, ItemType, ItemValue, RelatedItem};

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
        let mut related = Vec::with_capacity(spec.related.len());
        for link in &spec.related {
            let identifier = built(
                api::START_INCIDENT,
                ItemIdentifier::builder()
                    .r#type(ItemType::Attachment)
                    .value(ItemValue::Url(link.url.clone()))
                    .build(),
            )?;
            related.push(
                RelatedItem::builder()
                    .title(&link.title)
                    .identifier(identifier)
                    .build(),
            );
        }
        let output = self
            .client
            .start_incident()
            .response_plan_arn(&spec.response_plan_arn)
            .title(&spec.title)
            .impact(i32::from(spec.impact))
            .trigger_details(trigger)
            .client_token(&spec.client_token)
            .set_related_items((!related.is_empty()).then_some(related))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incidents::RelatedLink;

    /// What StartIncident sends: the emulator has no Incident Manager to receive it.
    #[tokio::test]
    async fn an_incident_is_started_with_its_link_as_an_attachment() {
        let (url, served) = super::super::capture::once(
            r#"{"incidentRecordArn":"arn:aws:ssm-incidents::123456789012:incident-record/P/1"}"#,
        )
        .await;
        let config = aws_sdk_ssmincidents::Config::builder()
            .behavior_version(aws_sdk_ssmincidents::config::BehaviorVersion::latest())
            .region(aws_sdk_ssmincidents::config::Region::new("eu-west-1"))
            .credentials_provider(super::super::capture::credentials())
            .endpoint_url(url)
            .build();
        let incidents = SdkIncidents {
            client: aws_sdk_ssmincidents::Client::from_conf(config),
        };
        let spec = IncidentSpec {
            response_plan_arn: "arn:aws:ssm-incidents::123456789012:response-plan/P".into(),
            title: "[SpaDemo] GenericException: t".into(),
            impact: 4,
            source: "spa".into(),
            raw_data: "{}".into(),
            client_token: "token-1".into(),
            related: vec![RelatedLink {
                title: "Costs of 111111111111".into(),
                url: "https://eu-west-1.console.aws.amazon.com/s3/object/b?prefix=k".into(),
            }],
        };
        let arn = incidents.start_incident(&spec).await.unwrap();
        assert!(arn.ends_with("incident-record/P/1"));
        let body: serde_json::Value = serde_json::from_str(&served.await.unwrap()).unwrap();
        assert_eq!(body["responsePlanArn"], spec.response_plan_arn);
        assert_eq!(body["impact"], 4);
        assert_eq!(body["clientToken"], "token-1");
        assert_eq!(
            body["relatedItems"],
            serde_json::json!([{
                "title": "Costs of 111111111111",
                "identifier": {
                    "type": "ATTACHMENT",
                    "value": {"url": "https://eu-west-1.console.aws.amazon.com/s3/object/b?prefix=k"}
                }
            }])
        );
    }
}
