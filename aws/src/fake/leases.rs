//! A lease table in memory.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::Behaviour;
use crate::{AwsError, Leases, api};

/// A lease table in memory, shared by the controllers of a test.
#[derive(Debug, Default)]
pub struct FakeLeases {
    leases: Mutex<BTreeMap<String, (String, i64)>>,
    pub behaviour: Behaviour,
}

impl FakeLeases {
    /// Who holds `lease`, if anyone.
    pub fn holder(&self, lease: &str) -> Option<String> {
        let leases = self.leases.lock().unwrap_or_else(|p| p.into_inner());
        leases.get(lease).map(|(holder, _)| holder.clone())
    }
}

#[async_trait]
impl Leases for FakeLeases {
    async fn acquire(
        &self,
        _table: &str,
        lease: &str,
        holder: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<bool, AwsError> {
        self.behaviour.enter(api::PUT_ITEM, lease).await?;
        let mut leases = self.leases.lock().unwrap_or_else(|p| p.into_inner());
        let free = match leases.get(lease) {
            None => true,
            Some((current, until)) => current == holder || *until < now,
        };
        if free {
            leases.insert(lease.to_string(), (holder.to_string(), expires_at));
        }
        Ok(free)
    }

    async fn release(&self, _table: &str, lease: &str, holder: &str) -> Result<(), AwsError> {
        self.behaviour.enter(api::DELETE_ITEM, lease).await?;
        let mut leases = self.leases.lock().unwrap_or_else(|p| p.into_inner());
        if leases
            .get(lease)
            .is_some_and(|(current, _)| current == holder)
        {
            leases.remove(lease);
        }
        Ok(())
    }

    async fn create_table(&self, _table: &str) -> Result<(), AwsError> {
        Ok(())
    }
}
