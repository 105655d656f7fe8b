//! A bucket in memory, on tokio's clock.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::Behaviour;
use crate::objects::ObjectInfo;
use crate::{AwsError, Objects, api};

/// (bucket, key) → (body, content type, when written).
type Store = BTreeMap<(String, String), (Vec<u8>, String, i64)>;

/// Buckets in memory.
#[derive(Default)]
pub struct FakeObjects {
    objects: Mutex<Store>,
    pub behaviour: Behaviour,
    clock: Mutex<Option<crate::Clock>>,
}

impl std::fmt::Debug for FakeObjects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeObjects").finish_non_exhaustive()
    }
}

impl FakeObjects {
    /// Objects are stamped with `clock` (the life cycle's virtual clock in tests).
    pub fn set_clock(&self, clock: crate::Clock) {
        *self.clock.lock().unwrap_or_else(|p| p.into_inner()) = Some(clock);
    }

    fn now(&self) -> i64 {
        self.clock
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map_or_else(|| crate::system_clock()(), |c| c())
    }

    /// The keys of a bucket.
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        self.objects
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .keys()
            .filter(|(b, _)| b == bucket)
            .map(|(_, k)| k.clone())
            .collect()
    }

    /// An object's body and content type.
    pub fn get(&self, bucket: &str, key: &str) -> Option<(Vec<u8>, String)> {
        self.objects
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(bucket.to_string(), key.to_string()))
            .map(|(body, kind, _)| (body.clone(), kind.clone()))
    }
}

#[async_trait]
impl Objects for FakeObjects {
    async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: &[u8],
        content_type: &str,
    ) -> Result<(), AwsError> {
        self.behaviour.enter(api::PUT_OBJECT, key).await?;
        let now = self.now();
        self.objects
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                (bucket.to_string(), key.to_string()),
                (body.to_vec(), content_type.to_string(), now),
            );
        Ok(())
    }

    async fn head_object(&self, bucket: &str, key: &str) -> Result<Option<ObjectInfo>, AwsError> {
        self.behaviour.enter(api::HEAD_OBJECT, key).await?;
        Ok(self
            .objects
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(bucket.to_string(), key.to_string()))
            .map(|(body, _, at)| ObjectInfo {
                key: key.to_string(),
                size: body.len() as u64,
                modified_ms: *at,
            }))
    }
}
