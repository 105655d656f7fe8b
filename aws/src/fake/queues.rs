//! Queues in memory.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use super::Behaviour;
use crate::{AwsError, QueueMessage, Queues, api};

/// Queues in memory, by URL; messages can be lost, duplicated or reordered by the test.
#[derive(Debug, Default)]
pub struct FakeQueues {
    queues: Mutex<BTreeMap<String, VecDeque<QueueMessage>>>,
    next: AtomicU64,
    pub behaviour: Behaviour,
}

impl FakeQueues {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, VecDeque<QueueMessage>>> {
        self.queues.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn push(&self, queue_url: &str, body: &str) {
        let receipt = self.next.fetch_add(1, Ordering::Relaxed).to_string();
        self.lock()
            .entry(queue_url.to_string())
            .or_default()
            .push_back(QueueMessage {
                receipt,
                body: body.to_string(),
            });
    }

    /// Messages waiting in `queue_url`.
    pub fn len(&self, queue_url: &str) -> usize {
        self.lock().get(queue_url).map_or(0, VecDeque::len)
    }
}

#[async_trait]
impl Queues for FakeQueues {
    async fn receive(
        &self,
        queue_url: &str,
        max: i32,
        _wait_seconds: i32,
    ) -> Result<Vec<QueueMessage>, AwsError> {
        self.behaviour
            .enter(api::RECEIVE_MESSAGE, queue_url)
            .await?;
        let take = usize::try_from(max.max(1)).unwrap_or(1);
        Ok(self
            .lock()
            .get(queue_url)
            .map(|queue| queue.iter().take(take).cloned().collect())
            .unwrap_or_default())
    }

    async fn delete(&self, queue_url: &str, receipt: &str) -> Result<(), AwsError> {
        self.behaviour.enter(api::DELETE_MESSAGE, receipt).await?;
        if let Some(queue) = self.lock().get_mut(queue_url) {
            queue.retain(|m| m.receipt != receipt);
        }
        Ok(())
    }

    async fn queue_arn(&self, queue_url: &str) -> Result<String, AwsError> {
        self.behaviour
            .enter(api::GET_QUEUE_ATTRIBUTES, queue_url)
            .await?;
        let name = queue_url.rsplit('/').next().unwrap_or_default();
        Ok(format!("arn:aws:sqs:eu-west-1:123456789012:{name}"))
    }
}
