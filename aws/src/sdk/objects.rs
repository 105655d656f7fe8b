//! The reports bucket on S3 (path-style addressing where an endpoint is set: the emulator).

use async_trait::async_trait;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::{classify, next};
use crate::objects::ObjectInfo;
use crate::{AwsError, ErrorKind, Objects, Page, api};

pub(crate) struct SdkObjects {
    pub(crate) client: aws_sdk_s3::Client,
}

fn millis(time: Option<&aws_smithy_types::DateTime>) -> i64 {
    time.and_then(|t| t.to_millis().ok()).unwrap_or(0)
}

/// A missing bucket says which one.
fn missing_bucket(mut error: AwsError, bucket: &str) -> AwsError {
    if error.code == "NoSuchBucket" {
        error.message = format!(
            "the bucket `{bucket}` does not exist: the automation stack creates it (its output ReportsBucketName)"
        );
        error.kind = ErrorKind::Terminal;
    }
    error
}

#[async_trait]
impl Objects for SdkObjects {
    async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: &[u8],
        content_type: &str,
    ) -> Result<(), AwsError> {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .body(aws_sdk_s3::primitives::ByteStream::from(body.to_vec()))
            .send()
            .await
            .map_err(|e| missing_bucket(classify(api::PUT_OBJECT, e), bucket))?;
        Ok(())
    }

    async fn get_object(&self, bucket: &str, key: &str) -> Result<Option<Vec<u8>>, AwsError> {
        let output = match self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
        {
            Ok(output) => output,
            Err(error) if error.code() == Some("NoSuchKey") => return Ok(None),
            Err(error) => return Err(missing_bucket(classify(api::GET_OBJECT, error), bucket)),
        };
        let bytes =
            output.body.collect().await.map_err(|e| {
                AwsError::new(api::GET_OBJECT, ErrorKind::Transient, "", e.to_string())
            })?;
        Ok(Some(bytes.into_bytes().to_vec()))
    }

    async fn head_object(&self, bucket: &str, key: &str) -> Result<Option<ObjectInfo>, AwsError> {
        match self
            .client
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
        {
            Ok(output) => Ok(Some(ObjectInfo {
                key: key.to_string(),
                size: output.content_length().unwrap_or(0).max(0) as u64,
                modified_ms: millis(output.last_modified()),
            })),
            Err(error) => {
                let error = classify(api::HEAD_OBJECT, error);
                // HEAD answers a bare 404: no code to read.
                if error.kind == ErrorKind::NotFound || error.code == "NotFound" {
                    Ok(None)
                } else {
                    Err(missing_bucket(error, bucket))
                }
            }
        }
    }

    async fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        next_token: Option<String>,
    ) -> Result<Page<ObjectInfo>, AwsError> {
        let output = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_continuation_token(next_token)
            .send()
            .await
            .map_err(|e| missing_bucket(classify(api::LIST_OBJECTS, e), bucket))?;
        Ok(Page {
            items: output
                .contents()
                .iter()
                .map(|o| ObjectInfo {
                    key: o.key().unwrap_or_default().to_string(),
                    size: o.size().unwrap_or(0).max(0) as u64,
                    modified_ms: millis(o.last_modified()),
                })
                .collect(),
            next_token: next(output.next_continuation_token()),
        })
    }
}
