//! The reports bucket on S3 (path-style addressing where an endpoint is set: the emulator).

use async_trait::async_trait;

use super::classify;
use crate::objects::ObjectInfo;
use crate::{AwsError, ErrorKind, Objects, api};

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
}
