//! EventBridge of the automation account: spa's events on the bus.

use async_trait::async_trait;

use crate::{Aws, AwsError, EventEntry, api};

/// The backend of EventBridge.
#[async_trait]
pub trait Events: Send + Sync {
    /// At most 10 entries per call.
    async fn put_events(&self, bus: &str, entries: &[EventEntry]) -> Result<(), AwsError>;
}

impl Aws {
    /// Puts `entries` on `bus` (name or ARN), ten per call.
    pub async fn put_events(&self, bus: &str, entries: &[EventEntry]) -> Result<(), AwsError> {
        let events = &self.backends.events;
        for chunk in entries.chunks(10) {
            self.call(api::PUT_EVENTS, || events.put_events(bus, chunk))
                .await?;
        }
        Ok(())
    }
}
