//! Record tables in memory: each with its key attributes, items in key order, pages of a
//! fixed size (DynamoDB pages by megabyte; the size here only matters for counting calls).

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::{Behaviour, not_found};
use crate::records::Item;
use crate::{AwsError, ErrorKind, Page, Records, api};

/// Items a page holds: DynamoDB answers at most 1 MB, about a thousand of spa's records.
pub const RECORD_PAGE: usize = 1000;

#[derive(Debug, Default)]
struct Table {
    keys: Vec<String>,
    items: BTreeMap<Vec<String>, Item>,
}

/// Record tables in memory.
#[derive(Debug, Default)]
pub struct FakeRecords {
    tables: Mutex<BTreeMap<String, Table>>,
    pub behaviour: Behaviour,
}

fn text(value: Option<&serde_json::Value>) -> String {
    match value {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    }
}

impl FakeRecords {
    /// Tables that behave as `behaviour` says (quotas: DynamoDB's on-demand rates).
    pub fn new(behaviour: Behaviour) -> FakeRecords {
        FakeRecords {
            tables: Mutex::default(),
            behaviour,
        }
    }

    /// A table whose key is `keys` (partition, then sort key).
    pub fn create_table(&self, table: &str, keys: &[&str]) {
        self.tables
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                table.to_string(),
                Table {
                    keys: keys.iter().map(|k| k.to_string()).collect(),
                    items: BTreeMap::new(),
                },
            );
    }

    /// Every item of a table, in key order.
    pub fn items(&self, table: &str) -> Vec<Item> {
        self.tables
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(table)
            .map(|t| t.items.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Writes an item by hand (an older version's, or a person's).
    pub fn insert(&self, table: &str, item: Item) {
        let mut tables = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(table) = tables.get_mut(table) {
            let key = table.keys.iter().map(|k| text(item.get(k))).collect();
            table.items.insert(key, item);
        }
    }

    fn with_table<T>(
        &self,
        api: crate::Api,
        table: &str,
        work: impl FnOnce(&mut Table) -> Result<T, AwsError>,
    ) -> Result<T, AwsError> {
        let mut tables = self.tables.lock().unwrap_or_else(|p| p.into_inner());
        let table = tables
            .get_mut(table)
            .ok_or_else(|| not_found(api, "ResourceNotFoundException", table))?;
        work(table)
    }
}

fn key_of(api: crate::Api, table: &Table, item: &Item) -> Result<Vec<String>, AwsError> {
    table
        .keys
        .iter()
        .map(|k| match item.get(k) {
            Some(serde_json::Value::String(s)) => Ok(s.clone()),
            _ => Err(AwsError::new(
                api,
                ErrorKind::Terminal,
                "ValidationException",
                format!("the key attribute {k} is missing or not a string"),
            )),
        })
        .collect()
}

fn page(items: Vec<Item>, token: Option<String>) -> Page<Item> {
    let start: usize = token.and_then(|t| t.parse().ok()).unwrap_or(0);
    let end = start.saturating_add(RECORD_PAGE).min(items.len());
    Page {
        items: items
            .get(start..end)
            .map(<[Item]>::to_vec)
            .unwrap_or_default(),
        next_token: (end < items.len()).then(|| end.to_string()),
    }
}

#[async_trait]
impl Records for FakeRecords {
    async fn put_item(
        &self,
        table: &str,
        item: &Item,
        only_if_new: Option<&str>,
    ) -> Result<bool, AwsError> {
        self.behaviour.enter(api::PUT_ITEM, table).await?;
        self.with_table(api::PUT_ITEM, table, |t| {
            let key = key_of(api::PUT_ITEM, t, item)?;
            if only_if_new.is_some() && t.items.contains_key(&key) {
                return Ok(false);
            }
            t.items.insert(key, item.clone());
            Ok(true)
        })
    }

    async fn delete_item(&self, table: &str, key: &Item) -> Result<(), AwsError> {
        self.behaviour.enter(api::DELETE_ITEM, table).await?;
        self.with_table(api::DELETE_ITEM, table, |t| {
            let key = key_of(api::DELETE_ITEM, t, key)?;
            t.items.remove(&key);
            Ok(())
        })
    }

    async fn query(
        &self,
        table: &str,
        name: &str,
        value: &str,
        next_token: Option<String>,
    ) -> Result<Page<Item>, AwsError> {
        self.behaviour.enter(api::QUERY, table).await?;
        self.with_table(api::QUERY, table, |t| {
            let items = t
                .items
                .values()
                .filter(|i| text(i.get(name)) == value)
                .cloned()
                .collect();
            Ok(page(items, next_token))
        })
    }

    async fn scan(&self, table: &str, next_token: Option<String>) -> Result<Page<Item>, AwsError> {
        self.behaviour.enter(api::SCAN, table).await?;
        self.with_table(api::SCAN, table, |t| {
            Ok(page(t.items.values().cloned().collect(), next_token))
        })
    }
}
