//! Records on DynamoDB: JSON values to DynamoDB attributes and back. A page token is the
//! last evaluated key, as JSON text.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::classify;
use crate::records::Item;
use crate::{AwsError, ErrorKind, Page, Records, api};

pub(crate) struct SdkRecords {
    pub(crate) client: aws_sdk_dynamodb::Client,
}

fn to_attribute(value: &serde_json::Value) -> AttributeValue {
    match value {
        serde_json::Value::Null => AttributeValue::Null(true),
        serde_json::Value::Bool(b) => AttributeValue::Bool(*b),
        serde_json::Value::Number(n) => AttributeValue::N(n.to_string()),
        serde_json::Value::String(s) => AttributeValue::S(s.clone()),
        serde_json::Value::Array(items) => {
            AttributeValue::L(items.iter().map(to_attribute).collect())
        }
        serde_json::Value::Object(map) => AttributeValue::M(to_attributes(map)),
    }
}

fn to_attributes(item: &Item) -> HashMap<String, AttributeValue> {
    item.iter()
        .map(|(k, v)| (k.clone(), to_attribute(v)))
        .collect()
}

/// Attributes of other types (sets, binaries: not written by spa) read as null.
fn from_attribute(value: &AttributeValue) -> serde_json::Value {
    match value {
        AttributeValue::S(s) => serde_json::Value::String(s.clone()),
        AttributeValue::N(n) => n
            .parse::<i64>()
            .map(serde_json::Value::from)
            .or_else(|_| n.parse::<f64>().map(serde_json::Value::from))
            .unwrap_or(serde_json::Value::Null),
        AttributeValue::Bool(b) => serde_json::Value::Bool(*b),
        AttributeValue::L(items) => {
            serde_json::Value::Array(items.iter().map(from_attribute).collect())
        }
        AttributeValue::M(map) => serde_json::Value::Object(from_attributes(map)),
        AttributeValue::Ss(items) => {
            serde_json::Value::Array(items.iter().cloned().map(Into::into).collect())
        }
        _ => serde_json::Value::Null,
    }
}

fn from_attributes(item: &HashMap<String, AttributeValue>) -> Item {
    item.iter()
        .map(|(k, v)| (k.clone(), from_attribute(v)))
        .collect()
}

fn token(key: Option<&HashMap<String, AttributeValue>>) -> Option<String> {
    key.filter(|k| !k.is_empty())
        .map(|k| serde_json::Value::Object(from_attributes(k)).to_string())
}

fn start_key(
    api: crate::Api,
    token: Option<String>,
) -> Result<Option<HashMap<String, AttributeValue>>, AwsError> {
    token
        .map(|t| {
            serde_json::from_str::<Item>(&t)
                .map(|item| to_attributes(&item))
                .map_err(|e| {
                    AwsError::new(api, ErrorKind::Terminal, "", format!("bad page token: {e}"))
                })
        })
        .transpose()
}

/// A missing table says which one.
fn missing_table(mut error: AwsError, table: &str) -> AwsError {
    if error.code == "ResourceNotFoundException" {
        error.message = format!(
            "the table `{table}` does not exist: deploy the automation stack (docs/install.md), or name the tables with the controller's flags"
        );
        error.kind = ErrorKind::Terminal;
    }
    error
}

#[async_trait]
impl Records for SdkRecords {
    async fn put_item(
        &self,
        table: &str,
        item: &Item,
        only_if_new: Option<&str>,
    ) -> Result<bool, AwsError> {
        let mut request = self
            .client
            .put_item()
            .table_name(table)
            .set_item(Some(to_attributes(item)));
        if let Some(key) = only_if_new {
            request = request
                .condition_expression("attribute_not_exists(#key)")
                .expression_attribute_names("#key", key);
        }
        match request.send().await {
            Ok(_) => Ok(true),
            Err(error)
                if only_if_new.is_some()
                    && error.code() == Some("ConditionalCheckFailedException") =>
            {
                Ok(false)
            }
            Err(error) => Err(missing_table(classify(api::PUT_ITEM, error), table)),
        }
    }

    async fn delete_item(&self, table: &str, key: &Item) -> Result<(), AwsError> {
        self.client
            .delete_item()
            .table_name(table)
            .set_key(Some(to_attributes(key)))
            .send()
            .await
            .map_err(|e| missing_table(classify(api::DELETE_ITEM, e), table))?;
        Ok(())
    }

    async fn query(
        &self,
        table: &str,
        name: &str,
        value: &str,
        next_token: Option<String>,
    ) -> Result<Page<Item>, AwsError> {
        let output = self
            .client
            .query()
            .table_name(table)
            .key_condition_expression("#key = :value")
            .expression_attribute_names("#key", name)
            .expression_attribute_values(":value", AttributeValue::S(value.to_string()))
            .set_exclusive_start_key(start_key(api::QUERY, next_token)?)
            .send()
            .await
            .map_err(|e| missing_table(classify(api::QUERY, e), table))?;
        Ok(Page {
            items: output.items().iter().map(from_attributes).collect(),
            next_token: token(output.last_evaluated_key()),
        })
    }

    async fn scan(&self, table: &str, next_token: Option<String>) -> Result<Page<Item>, AwsError> {
        let output = self
            .client
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start_key(api::SCAN, next_token)?)
            .send()
            .await
            .map_err(|e| missing_table(classify(api::SCAN, e), table))?;
        Ok(Page {
            items: output.items().iter().map(from_attributes).collect(),
            next_token: token(output.last_evaluated_key()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_values_go_to_dynamodb_and_back() {
        let item: Item = serde_json::from_str(
            r#"{"account":"123456789012","stamps":{"CreatedAccount":"2026-12-01T10:00:00Z"},"count":3,"ratio":0.5,"ok":true,"none":null,"labels":["a","b"]}"#,
        )
        .unwrap();
        assert_eq!(from_attributes(&to_attributes(&item)), item);
    }
}
