//! spa's records in DynamoDB tables of the automation account (on demand): items as JSON
//! objects of our own, their attributes stored as DynamoDB's types (string, number,
//! boolean, map, list, null). Which attributes form the key is the table's business: calls
//! name the key they need.

use async_trait::async_trait;

use crate::{Aws, AwsError, Page, api};

/// A record: attribute name → value.
pub type Item = serde_json::Map<String, serde_json::Value>;

/// The backend of the record tables.
#[async_trait]
pub trait Records: Send + Sync {
    /// Writes `item`. With `only_if_new` (the partition key's name), only when no item has
    /// that key: `Ok(false)` when one has.
    async fn put_item(
        &self,
        table: &str,
        item: &Item,
        only_if_new: Option<&str>,
    ) -> Result<bool, AwsError>;
    async fn delete_item(&self, table: &str, key: &Item) -> Result<(), AwsError>;
    /// One page of the items whose partition key `name` is `value`, in sort-key order.
    async fn query(
        &self,
        table: &str,
        name: &str,
        value: &str,
        next_token: Option<String>,
    ) -> Result<Page<Item>, AwsError>;
    /// One page of every item.
    async fn scan(&self, table: &str, next_token: Option<String>) -> Result<Page<Item>, AwsError>;
}

impl Aws {
    /// Writes a record (replacing the one with its key).
    pub async fn put_record(&self, table: &str, item: &Item) -> Result<(), AwsError> {
        let records = &self.backends.records;
        self.call(api::PUT_ITEM, || records.put_item(table, item, None))
            .await
            .map(|_| ())
    }

    /// Writes a record only if none has its partition key `key`; whether it was written.
    pub async fn put_new_record(
        &self,
        table: &str,
        item: &Item,
        key: &str,
    ) -> Result<bool, AwsError> {
        let records = &self.backends.records;
        self.call(api::PUT_ITEM, || records.put_item(table, item, Some(key)))
            .await
    }

    pub async fn delete_record(&self, table: &str, key: &Item) -> Result<(), AwsError> {
        let records = &self.backends.records;
        self.call(api::DELETE_ITEM, || records.delete_item(table, key))
            .await
    }

    /// Every record whose partition key `name` is `value`.
    pub async fn records_of(
        &self,
        table: &str,
        name: &str,
        value: &str,
    ) -> Result<Vec<Item>, AwsError> {
        let records = &self.backends.records;
        self.all_pages(api::QUERY, |t| records.query(table, name, value, t))
            .await
    }

    /// Every record of the table (1 MB a page on AWS).
    pub async fn all_records(&self, table: &str) -> Result<Vec<Item>, AwsError> {
        let records = &self.backends.records;
        self.all_pages(api::SCAN, |t| records.scan(table, t)).await
    }
}
