//! Leases in a DynamoDB table with conditional writes: one applier at a time.

use async_trait::async_trait;

use crate::{Aws, AwsError, api};

/// The backend of the lease table.
#[async_trait]
pub trait Leases: Send + Sync {
    /// Takes or renews `lease` for `holder` until `expires_at` (seconds since the epoch):
    /// succeeds when the lease is free, expired at `now`, or already held by `holder`.
    /// `Ok(false)` when another holder has it.
    async fn acquire(
        &self,
        table: &str,
        lease: &str,
        holder: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<bool, AwsError>;
    /// Gives the lease up if `holder` has it.
    async fn release(&self, table: &str, lease: &str, holder: &str) -> Result<(), AwsError>;
    /// Creates the table (on-demand, partition key `lease`); succeeds if it exists.
    async fn create_table(&self, table: &str) -> Result<(), AwsError>;
}

impl Aws {
    /// Takes or renews a lease; a throttled or failed write is retried like any call, so
    /// that one slow answer does not cost the lease.
    pub async fn acquire_lease(
        &self,
        table: &str,
        lease: &str,
        holder: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<bool, AwsError> {
        let leases = &self.backends.leases;
        self.call(api::PUT_ITEM, || {
            leases.acquire(table, lease, holder, now, expires_at)
        })
        .await
    }

    /// Gives a lease up (on shutdown, so that a standby takes over at once).
    pub async fn release_lease(
        &self,
        table: &str,
        lease: &str,
        holder: &str,
    ) -> Result<(), AwsError> {
        let leases = &self.backends.leases;
        self.call(api::DELETE_ITEM, || leases.release(table, lease, holder))
            .await
    }
}

impl Aws {
    /// Creates the lease table if it is missing (the emulator and first installs; the
    /// installation's template creates it in production).
    pub async fn create_lease_table(&self, table: &str) -> Result<(), AwsError> {
        let leases = &self.backends.leases;
        self.call(api::CREATE_TABLE, || leases.create_table(table))
            .await
    }
}
