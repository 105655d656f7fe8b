//! The lease table on DynamoDB (partition key `lease`, a string).

use async_trait::async_trait;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::classify;
use crate::{AwsError, ErrorKind, Leases, api};

pub(crate) struct SdkLeases {
    pub(crate) client: aws_sdk_dynamodb::Client,
}

fn is_condition_failure<E: ProvideErrorMetadata>(error: &SdkError<E, HttpResponse>) -> bool {
    matches!(error, SdkError::ServiceError(context) if context.err().code() == Some("ConditionalCheckFailedException"))
}

#[async_trait]
impl Leases for SdkLeases {
    async fn acquire(
        &self,
        table: &str,
        lease: &str,
        holder: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<bool, AwsError> {
        use aws_sdk_dynamodb::types::AttributeValue;
        let result = self
            .client
            .put_item()
            .table_name(table)
            .item("lease", AttributeValue::S(lease.to_string()))
            .item("holder", AttributeValue::S(holder.to_string()))
            .item("expires_at", AttributeValue::N(expires_at.to_string()))
            .condition_expression(
                "attribute_not_exists(lease) OR expires_at < :now OR holder = :me",
            )
            .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
            .expression_attribute_values(":me", AttributeValue::S(holder.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error) if is_condition_failure(&error) => Ok(false),
            Err(error) => {
                let mut error = classify(api::PUT_ITEM, error);
                if error.code == "ResourceNotFoundException" {
                    error.message = format!(
                        "the lease table `{}` does not exist: create it (docs/controller.md), or run without --lease-table",
                        table
                    );
                    error.kind = ErrorKind::Terminal;
                }
                Err(error)
            }
        }
    }

    async fn release(&self, table: &str, lease: &str, holder: &str) -> Result<(), AwsError> {
        use aws_sdk_dynamodb::types::AttributeValue;
        let result = self
            .client
            .delete_item()
            .table_name(table)
            .key("lease", AttributeValue::S(lease.to_string()))
            .condition_expression("holder = :me")
            .expression_attribute_values(":me", AttributeValue::S(holder.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) if is_condition_failure(&error) => Ok(()),
            Err(error) => Err(classify(api::DELETE_ITEM, error)),
        }
    }

    async fn create_table(&self, table: &str) -> Result<(), AwsError> {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        };
        let result = self
            .client
            .create_table()
            .table_name(table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("lease")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .map_err(|e| {
                        AwsError::new(api::CREATE_TABLE, ErrorKind::Terminal, "", e.to_string())
                    })?,
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("lease")
                    .key_type(KeyType::Hash)
                    .build()
                    .map_err(|e| {
                        AwsError::new(api::CREATE_TABLE, ErrorKind::Terminal, "", e.to_string())
                    })?,
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) => {
                let error = classify(api::CREATE_TABLE, error);
                if error.code == "ResourceInUseException" {
                    Ok(())
                } else {
                    Err(error)
                }
            }
        }
    }
}
