//! Objects of the reports bucket (S3 of the automation account).

use async_trait::async_trait;

use crate::{Aws, AwsError, api};

/// What a listing or a head tells of an object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
    /// Last modified, milliseconds since the epoch.
    pub modified_ms: i64,
}

/// The backend of the reports bucket.
#[async_trait]
pub trait Objects: Send + Sync {
    async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: &[u8],
        content_type: &str,
    ) -> Result<(), AwsError>;
    async fn head_object(&self, bucket: &str, key: &str) -> Result<Option<ObjectInfo>, AwsError>;
}

impl Aws {
    pub async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: &[u8],
        content_type: &str,
    ) -> Result<(), AwsError> {
        let objects = &self.backends.objects;
        self.call(api::PUT_OBJECT, || {
            objects.put_object(bucket, key, body, content_type)
        })
        .await
    }

    pub async fn object_info(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Option<ObjectInfo>, AwsError> {
        let objects = &self.backends.objects;
        self.call(api::HEAD_OBJECT, || objects.head_object(bucket, key))
            .await
    }
}
