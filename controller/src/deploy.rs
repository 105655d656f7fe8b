//! The parameters of the installation's CloudFormation stacks (`deploy/`), derived from the
//! settings, so that the environment, the account, the region and the role names are typed
//! once, in `settings.yaml` (docs/install.md). Pure: settings and the installation's own
//! inputs in, parameters out.

use spa_schema::Settings;

/// The stacks of `deploy/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Stack {
    /// `management.yaml`, in us-east-1 of the management account.
    Management,
    /// `automation.yaml`, in `automation.region` of the automation account.
    Automation,
    /// `member-role.yaml`, a StackSet over the managed OUs (without Control Tower).
    MemberRole,
}

/// What the settings do not say: where and what the controller runs.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    pub organization_id: Option<String>,
    pub image_uri: Option<String>,
    pub settings_repository_url: Option<String>,
    pub settings_branch: String,
    pub vpc_id: Option<String>,
    pub subnet_ids: Option<String>,
}

/// A parameter that cannot be derived: the flag or the settings key that gives it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Missing(pub String);

fn required<'a>(value: &'a Option<String>, flag: &str, what: &str) -> Result<&'a str, Missing> {
    value
        .as_deref()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| Missing(format!("the automation stack needs {flag} ({what})")))
}

/// The address of `Name <address>` as the e-mail reads it (so that the stack's SES
/// condition names the sender spa uses), or the whole value.
fn address(recipient: &str) -> String {
    crate::costs::email::address(recipient).unwrap_or_else(|_| recipient.trim().to_string())
}

/// The parameters of `stack`, in the order of the example files.
pub fn parameters(
    settings: &Settings,
    stack: Stack,
    inputs: &Inputs,
) -> Result<Vec<(&'static str, String)>, Missing> {
    let environment = settings.environment_identifier.value.clone();
    let automation = &settings.automation;
    let account = automation
        .account_id
        .as_ref()
        .map(|a| a.value.clone())
        .ok_or_else(|| Missing("settings name no automation.account_id".into()))?;
    let region = automation
        .region
        .as_ref()
        .map_or_else(|| "eu-west-1".to_string(), |r| r.value.clone());
    let management_role_arn = automation
        .role_arn_to_manage_accounts
        .as_ref()
        .map(|r| r.value.clone())
        .ok_or_else(|| {
            Missing(
                "settings name no automation.role_arn_to_manage_accounts (the role of the management stack)"
                    .into(),
            )
        })?;
    let management_role_name = management_role_arn
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let member_role = automation.role_name_to_manage_codebuild.value.clone();
    let table = |configured: &Option<spa_schema::Located<String>>, suffix: &str| {
        configured
            .as_ref()
            .map(|t| t.value.clone())
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| format!("{environment}{suffix}"))
    };
    Ok(match stack {
        Stack::Management => vec![
            ("EnvironmentIdentifier", environment.clone()),
            ("AutomationAccountId", account),
            ("AutomationRegion", region),
            ("ManagementRoleName", management_role_name),
            ("MemberRoleName", member_role),
        ],
        Stack::MemberRole => vec![
            ("EnvironmentIdentifier", environment.clone()),
            ("MemberRoleName", member_role),
            ("ManagementRoleArn", management_role_arn),
            ("AutomationRegion", region),
        ],
        Stack::Automation => {
            let metering = &settings.metering;
            let features = &settings.features;
            vec![
                ("EnvironmentIdentifier", environment.clone()),
                (
                    "OrganizationId",
                    required(
                        &inputs.organization_id,
                        "--organization-id",
                        "aws organizations describe-organization",
                    )?
                    .to_string(),
                ),
                ("ManagementRoleArn", management_role_arn),
                (
                    "ShadowsTableName",
                    table(&metering.shadows_datastore, "Shadows"),
                ),
                (
                    "ActivitiesTableName",
                    table(&metering.activities_datastore, "Activities"),
                ),
                (
                    "TransactionsTableName",
                    table(&metering.transactions_datastore, "Transactions"),
                ),
                (
                    "ReportsBucketName",
                    format!("{}-reports-{account}-{region}", environment.to_lowercase()),
                ),
                (
                    "ResponsePlanArn",
                    features
                        .with_response_plan_arn
                        .as_ref()
                        .map(|a| a.value.clone())
                        .unwrap_or_default(),
                ),
                (
                    // Only when costs are on: the sender is ignored otherwise, and so is
                    // the task role's permission to send.
                    "OriginEmailAddress",
                    features
                        .with_origin_email_recipient
                        .as_ref()
                        .filter(|_| features.with_cost_management_tag.span.is_some())
                        .map(|r| address(&r.value))
                        .unwrap_or_default(),
                ),
                (
                    "ImageUri",
                    required(&inputs.image_uri, "--image-uri", "the release's image")?.to_string(),
                ),
                (
                    "SettingsRepositoryUrl",
                    required(
                        &inputs.settings_repository_url,
                        "--settings-repository-url",
                        "the repository the controller follows",
                    )?
                    .to_string(),
                ),
                ("SettingsBranch", inputs.settings_branch.clone()),
                (
                    "VpcId",
                    required(&inputs.vpc_id, "--vpc-id", "where the tasks run")?.to_string(),
                ),
                (
                    "SubnetIds",
                    required(
                        &inputs.subnet_ids,
                        "--subnet-ids",
                        "comma-separated subnets of that VPC",
                    )?
                    .to_string(),
                ),
            ]
        }
    })
}

/// The parameter file read by `aws cloudformation deploy --parameter-overrides file://…`
/// and by `create-stack --parameters file://…`: one parameter per line.
pub fn render(parameters: &[(&str, String)]) -> String {
    let lines: Vec<String> = parameters
        .iter()
        .map(|(key, value)| {
            format!(
                "  {{\"ParameterKey\": {}, \"ParameterValue\": {}}}",
                serde_json::Value::from(*key),
                serde_json::Value::from(value.as_str())
            )
        })
        .collect();
    format!("[\n{}\n]\n", lines.join(",\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_taken_from_a_display_name() {
        assert_eq!(address("Spa <spa@example.com>"), "spa@example.com");
        assert_eq!(address(" spa@example.com "), "spa@example.com");
        assert_eq!(address("broken <spa"), "broken <spa");
        // The last `<` opens the address, as validation and the e-mail read it.
        assert_eq!(address(r#""A<B" <spa@example.com>"#), "spa@example.com");
    }

    #[test]
    fn values_are_json_escaped() {
        assert_eq!(
            render(&[("K", "a\"b".to_string())]),
            "[\n  {\"ParameterKey\": \"K\", \"ParameterValue\": \"a\\\"b\"}\n]\n"
        );
    }
}
