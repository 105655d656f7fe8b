//! An event bus in memory.

use std::sync::Mutex;

use async_trait::async_trait;

use super::Behaviour;
use crate::{AwsError, EventEntry, Events, api};

/// An event bus in memory: what was put, in order.
#[derive(Debug, Default)]
pub struct FakeEvents {
    pub put: Mutex<Vec<(String, EventEntry)>>,
    pub behaviour: Behaviour,
}

#[async_trait]
impl Events for FakeEvents {
    async fn put_events(&self, bus: &str, entries: &[EventEntry]) -> Result<(), AwsError> {
        self.behaviour.enter(api::PUT_EVENTS, bus).await?;
        let mut put = self.put.lock().unwrap_or_else(|p| p.into_inner());
        put.extend(entries.iter().map(|e| (bus.to_string(), e.clone())));
        Ok(())
    }
}
