//! Helpers shared by the controller's integration tests.

use spa_schema::{MemoryFiles, Settings, load};

/// The settings of `files` (with `settings.yaml`), which the test expects to be valid.
pub fn valid_settings(files: &MemoryFiles) -> Settings {
    let loaded = load(files, "settings.yaml");
    loaded
        .valid()
        .cloned()
        .unwrap_or_else(|| panic!("{}", loaded.render(spa_schema::diag::Style::Plain)))
}

/// The settings of a single `settings.yaml`.
pub fn settings_yaml(yaml: &str) -> Settings {
    valid_settings(&MemoryFiles::new().with("settings.yaml", yaml))
}

/// A runtime on tokio's paused clock: the fakes' quotas and back-offs pass in virtual time.
pub fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap()
}

/// An SQS queue and an EventBridge rule on the default bus sending it the events of
/// `sources`; returns the queue's URL.
pub async fn queue_for(config: &aws_config::SdkConfig, name: &str, sources: &[&str]) -> String {
    let sqs = aws_sdk_sqs::Client::new(config);
    let url = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let attributes = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap();
    let arn =
        attributes.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn].clone();
    let eventbridge = aws_sdk_eventbridge::Client::new(config);
    eventbridge
        .put_rule()
        .name(name)
        .event_pattern(serde_json::json!({ "source": sources }).to_string())
        .send()
        .await
        .unwrap();
    eventbridge
        .put_targets()
        .rule(name)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(&arn)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    url
}

/// The endpoints subscribed to `topic`, read with `config` (credentials of its account).
pub async fn topic_endpoints(config: &aws_config::SdkConfig, topic: &str) -> Vec<String> {
    aws_sdk_sns::Client::new(config)
        .list_subscriptions_by_topic()
        .topic_arn(topic)
        .send()
        .await
        .unwrap()
        .subscriptions()
        .iter()
        .filter_map(|s| s.endpoint().map(str::to_string))
        .collect()
}

/// The three record tables the automation stack creates for `environment`.
pub async fn record_tables(config: &aws_config::SdkConfig, environment: &str) {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let dynamodb = aws_sdk_dynamodb::Client::new(config);
    for (table, keys) in [
        ("Shadows", vec!["account"]),
        ("Activities", vec!["day", "stamp"]),
        ("Transactions", vec!["account"]),
    ] {
        let mut request = dynamodb
            .create_table()
            .table_name(format!("{environment}{table}"))
            .billing_mode(BillingMode::PayPerRequest);
        for (index, key) in keys.iter().enumerate() {
            request = request
                .attribute_definitions(
                    AttributeDefinition::builder()
                        .attribute_name(*key)
                        .attribute_type(ScalarAttributeType::S)
                        .build()
                        .unwrap(),
                )
                .key_schema(
                    KeySchemaElement::builder()
                        .attribute_name(*key)
                        .key_type(if index == 0 {
                            KeyType::Hash
                        } else {
                            KeyType::Range
                        })
                        .build()
                        .unwrap(),
                );
        }
        request.send().await.unwrap();
    }
}

/// A bucket in eu-west-1.
pub async fn bucket(config: &aws_config::SdkConfig, name: &str) {
    let s3 = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(s3)
        .create_bucket()
        .bucket(name)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .unwrap();
}
