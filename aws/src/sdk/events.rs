//! EventBridge on the SDK.

use async_trait::async_trait;

use super::classify;
use crate::{AwsError, ErrorKind, EventEntry, Events, api};

pub(crate) struct SdkEvents {
    pub(crate) client: aws_sdk_eventbridge::Client,
}

#[async_trait]
impl Events for SdkEvents {
    async fn put_events(&self, bus: &str, entries: &[EventEntry]) -> Result<(), AwsError> {
        let mut request = self.client.put_events();
        for entry in entries {
            request = request.entries(
                aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
                    .event_bus_name(bus)
                    .source(&entry.source)
                    .detail_type(&entry.detail_type)
                    .detail(entry.detail.to_string())
                    .build(),
            );
        }
        let output = request
            .send()
            .await
            .map_err(|e| classify(api::PUT_EVENTS, e))?;
        if output.failed_entry_count() > 0 {
            let reasons: Vec<String> = output
                .entries()
                .iter()
                .filter_map(|e| e.error_message().map(str::to_string))
                .collect();
            return Err(AwsError::new(
                api::PUT_EVENTS,
                ErrorKind::Transient,
                "FailedEntries",
                reasons.join("; "),
            ));
        }
        Ok(())
    }
}
