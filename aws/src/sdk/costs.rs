//! Cost Explorer on the SDK.

use async_trait::async_trait;
use aws_sdk_costexplorer::types::{
    DateInterval, Dimension as SdkDimension, DimensionValues, Expression,
    Granularity as SdkGranularity, GroupDefinition, GroupDefinitionType,
};

use super::{classify, next, text};
use crate::costs::{CostGroup, CostPage, CostQuery, Dimension, Granularity, METRIC};
use crate::{AwsError, Costs, ErrorKind, Page, api};

pub(crate) struct SdkCosts {
    pub(crate) client: aws_sdk_costexplorer::Client,
}

fn group_definition(dimension: Dimension) -> GroupDefinition {
    GroupDefinition::builder()
        .r#type(GroupDefinitionType::Dimension)
        .key(dimension.as_str())
        .build()
}

#[async_trait]
impl Costs for SdkCosts {
    async fn get_cost_and_usage(
        &self,
        query: &CostQuery,
        next_token: Option<String>,
    ) -> Result<CostPage, AwsError> {
        let period = DateInterval::builder()
            .start(&query.start)
            .end(&query.end)
            .build()
            .map_err(|e| {
                AwsError::new(
                    api::GET_COST_AND_USAGE,
                    ErrorKind::Terminal,
                    "Build",
                    e.to_string(),
                )
            })?;
        let mut conditions = Vec::new();
        if !query.excluded_record_types.is_empty() {
            let excluded = Expression::builder()
                .dimensions(
                    DimensionValues::builder()
                        .key(SdkDimension::RecordType)
                        .set_values(Some(query.excluded_record_types.clone()))
                        .build(),
                )
                .build();
            conditions.push(Expression::builder().not(excluded).build());
        }
        if !query.accounts.is_empty() {
            conditions.push(
                Expression::builder()
                    .dimensions(
                        DimensionValues::builder()
                            .key(SdkDimension::LinkedAccount)
                            .set_values(Some(query.accounts.clone()))
                            .build(),
                    )
                    .build(),
            );
        }
        // Cost Explorer takes one expression: `And` needs two or more.
        let filter = match conditions.len() {
            0 => None,
            1 => conditions.pop(),
            _ => Some(Expression::builder().set_and(Some(conditions)).build()),
        };
        let output = self
            .client
            .get_cost_and_usage()
            .time_period(period)
            .granularity(match query.granularity {
                Granularity::Daily => SdkGranularity::Daily,
                Granularity::Monthly => SdkGranularity::Monthly,
            })
            .metrics(METRIC)
            .set_group_by(Some(
                query
                    .group_by
                    .iter()
                    .copied()
                    .map(group_definition)
                    .collect(),
            ))
            .set_filter(filter)
            .set_next_page_token(next_token)
            .send()
            .await
            .map_err(|e| classify(api::GET_COST_AND_USAGE, e))?;
        let mut estimated = false;
        let mut items = Vec::new();
        for result in output.results_by_time() {
            estimated |= result.estimated();
            let period = result
                .time_period()
                .map(|p| p.start().to_string())
                .unwrap_or_default();
            for group in result.groups() {
                let value = group.metrics().and_then(|m| m.get(METRIC));
                items.push(CostGroup {
                    period: period.clone(),
                    keys: group.keys().to_vec(),
                    amount: text(value.and_then(|v| v.amount())),
                    unit: text(value.and_then(|v| v.unit())),
                });
            }
        }
        Ok(CostPage {
            page: Page {
                items,
                next_token: next(output.next_page_token()),
            },
            estimated,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What GetCostAndUsage sends for one account's spending: the emulator answers injected
    /// results whatever the filter, so the filter is checked here.
    #[tokio::test]
    async fn the_filter_of_one_accounts_spending_is_a_conjunction() {
        let (url, served) = super::super::capture::once(r#"{"ResultsByTime":[]}"#).await;
        let config = aws_sdk_costexplorer::Config::builder()
            .behavior_version(aws_sdk_costexplorer::config::BehaviorVersion::latest())
            .region(aws_sdk_costexplorer::config::Region::new("us-east-1"))
            .credentials_provider(super::super::capture::credentials())
            .endpoint_url(url)
            .build();
        let costs = SdkCosts {
            client: aws_sdk_costexplorer::Client::from_conf(config),
        };
        let query = CostQuery {
            start: "2026-12-01".into(),
            end: "2026-12-03".into(),
            granularity: Granularity::Monthly,
            group_by: vec![Dimension::LinkedAccount, Dimension::Service],
            excluded_record_types: vec!["Credit".into(), "Refund".into()],
            accounts: vec!["111111111111".into()],
        };
        let page = costs.get_cost_and_usage(&query, None).await.unwrap();
        assert!(page.page.items.is_empty());
        let body: serde_json::Value = serde_json::from_str(&served.await.unwrap()).unwrap();
        assert_eq!(
            body["Filter"],
            serde_json::json!({"And": [
                {"Not": {"Dimensions": {"Key": "RECORD_TYPE", "Values": ["Credit", "Refund"]}}},
                {"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": ["111111111111"]}}
            ]})
        );
        assert_eq!(body["Granularity"], "MONTHLY");
        assert_eq!(body["Metrics"], serde_json::json!([METRIC]));
        assert_eq!(
            body["TimePeriod"],
            serde_json::json!({"Start": "2026-12-01", "End": "2026-12-03"})
        );
    }
}
