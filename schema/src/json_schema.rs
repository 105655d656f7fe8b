//! The JSON Schema of `settings.yaml`, for editors with a YAML language server
//! (completion, hover documentation, errors as you type). Generated from these mirror
//! types; a test keeps the committed `schema/settings.schema.json` in step, and another
//! checks that these types and the decoder know exactly the same keys.
//!
//! The decoder, not this schema, is the authority: it checks more (cross references,
//! files, sizes) and explains every problem with its place.

#![allow(dead_code)] // the fields exist only to be described

use std::collections::BTreeMap;

use schemars::JsonSchema;

const ACCOUNT_ID: &str = r"^[0-9]{12}$";
const OU_ID: &str = r"^ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}$";
// ASCII letters plus anything beyond Latin-1 punctuation: close to AWS's \p{L}\p{Z}\p{N}
// while staying valid in every regex dialect editors use.
const TAG_KEY: &str = r"^[A-Za-z0-9 _.:/=+@\u00C0-\uFFFF-]{1,128}$";
const TAG_VALUE: &str = r"^[A-Za-z0-9 _.:/=+@\u00C0-\uFFFF-]{0,256}$";
const VARIABLE: &str = r"^[A-Za-z_][A-Za-z0-9_]*$";
const SCHEDULE: &str = r"^(cron\(.+\)|rate\(\d+ (minute|minutes|hour|hours|day|days)\))$";

/// Settings of spa, the GitOps controller for sustainable personal AWS accounts.
#[derive(JsonSchema)]
#[schemars(title = "spa settings", deny_unknown_fields)]
struct SettingsFile {
    /// Prefix of everything spa creates (SSM root `/<env>/`, events); letters and digits, not beginning with `aws` or `ssm` in any case (SSM reserves them). Default: `SpaBeta`.
    #[schemars(regex(pattern = r"^(?![Aa][Ww][Ss]|[Ss][Ss][Mm])[A-Za-z][A-Za-z0-9]*$"))]
    environment_identifier: Option<String>,
    /// Resources deployed in the automation account.
    automation: Option<Automation>,
    /// Datastores of metered activities.
    metering: Option<Metering>,
    /// Buildspecs run in CodeBuild inside managed accounts.
    worker: Option<Worker>,
    /// The base of every organizational unit and account.
    defaults: Option<DefaultsItem>,
    /// Organizational units whose direct child accounts are managed.
    organizational_units: Option<Vec<OrganizationalUnitItem>>,
    /// Accounts managed individually.
    accounts: Option<Vec<AccountItem>>,
    /// Optional features.
    features: Option<Features>,
    /// Where reports are stored.
    reporting: Option<Reporting>,
    /// Service control policies that spa creates (named `<environment_identifier>-<name>`) and attaches to organizational units and accounts it manages.
    service_control_policies: Option<Vec<ServiceControlPolicy>>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Automation {
    /// The automation account: 12 digits, quoted.
    #[schemars(regex(pattern = ACCOUNT_ID))]
    account_id: Option<String>,
    /// Region of the automation resources and of CodeBuild projects, e.g. eu-west-1.
    region: Option<String>,
    /// Markdown shown on the dashboard.
    cockpit_markdown_text: Option<String>,
    /// When released accounts expire: an EventBridge `cron(...)` or `rate(...)` expression, in UTC.
    #[schemars(regex(pattern = SCHEDULE))]
    maintenance_window_expression: Option<String>,
    /// SSM Parameter Store tiers: `standard` (default; standard up to 4 KB, advanced above; plans that would pass the 10,000 standard parameters of an account and region are refused), `intelligent-tiering` (AWS uses the advanced tier where size or count needs it) or `advanced` (every parameter advanced, $0.05 a month each).
    parameter_tier: Option<ParameterTier>,
    /// IAM role ARN in the management account, assumed to list and tag accounts.
    #[schemars(regex(pattern = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$"))]
    role_arn_to_manage_accounts: Option<String>,
    /// Role name assumed in each managed account to run CodeBuild. Default: `AWSControlTowerExecution`.
    role_name_to_manage_codebuild: Option<String>,
    /// Tags of the resources in the automation account.
    tags: Option<Tags>,
    /// Amount of logging. Default: INFO.
    verbosity: Option<Verbosity>,
}

#[derive(JsonSchema)]
enum ParameterTier {
    #[serde(rename = "standard")]
    Standard,
    #[serde(rename = "intelligent-tiering")]
    IntelligentTiering,
    #[serde(rename = "advanced")]
    Advanced,
}

#[derive(JsonSchema)]
enum Verbosity {
    #[serde(rename = "DEBUG")]
    Debug,
    #[serde(rename = "INFO")]
    Info,
    #[serde(rename = "WARNING")]
    Warning,
    #[serde(rename = "ERROR")]
    Error,
    #[serde(rename = "CRITICAL")]
    Critical,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Metering {
    /// DynamoDB table of activities.
    activities_datastore: Option<String>,
    /// Default: 31622400 (one year).
    #[schemars(range(min = 1))]
    activities_ttl_in_seconds: Option<u64>,
    /// DynamoDB table of shadows.
    shadows_datastore: Option<String>,
    /// Default: 15811200 (six months).
    #[schemars(range(min = 1))]
    shadows_ttl_in_seconds: Option<u64>,
    /// DynamoDB table of on-going transactions.
    transactions_datastore: Option<String>,
    /// Default: 10800 (three hours).
    #[schemars(range(min = 1))]
    transactions_ttl_in_seconds: Option<u64>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Worker {
    /// Timeout of both CodeBuild projects, 5 to 480 minutes. Default: 480.
    #[schemars(range(min = 5, max = 480))]
    build_timeout_in_minutes: Option<u32>,
    /// IAM managed policy attached to the CodeBuild service role in each member account. Default: arn:aws:iam::aws:policy/AdministratorAccess.
    #[schemars(regex(pattern = r"^arn:aws[a-z-]*:iam::(aws|[0-9]{12}):policy/.+$"))]
    build_service_role_policy_arn: Option<String>,
    /// Path of the preparation buildspec, relative to settings.yaml.
    preparation_buildspec_template_file: Option<String>,
    /// Path of the purge buildspec, relative to settings.yaml.
    purge_buildspec_template_file: Option<String>,
}

/// Tag keys to values (AWS Organizations rules).
#[derive(JsonSchema)]
#[schemars(extend("propertyNames" = { "pattern": TAG_KEY }))]
struct Tags(BTreeMap<String, TagValue>);

#[derive(JsonSchema)]
#[schemars(transparent)]
struct TagValue(#[schemars(regex(pattern = TAG_VALUE))] String);

#[derive(JsonSchema)]
enum FeatureSwitch {
    #[serde(rename = "enabled")]
    Enabled,
    #[serde(rename = "disabled")]
    Disabled,
}

/// A value passed to CodeBuild as an environment variable, as written.
#[derive(JsonSchema)]
#[serde(untagged)]
enum VariableValue {
    Text(String),
    Number(f64),
    Boolean(bool),
}

/// Environment variable names to values.
#[derive(JsonSchema)]
#[schemars(extend("propertyNames" = { "pattern": VARIABLE }))]
struct Variables(BTreeMap<String, VariableValue>);

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Feature {
    /// Whether the CodeBuild project runs: `enabled` or `disabled` (default: disabled).
    feature: Option<FeatureSwitch>,
    /// Environment variables of the build.
    variables: Option<Variables>,
}

/// Attributes shared by defaults, organizational units and accounts.
#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct DefaultsItem {
    /// Free text shown in plans and reports.
    note: Option<String>,
    /// Tags kept on the account.
    account_tags: Option<Tags>,
    /// Tag keys removed from the account.
    unset_tags: Option<Vec<String>>,
    /// Preparation of assigned accounts.
    preparation: Option<Feature>,
    /// Purge of expired accounts.
    purge: Option<Feature>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct OrganizationalUnitItem {
    /// The OU id, e.g. ou-ab12-cdef3456.
    #[schemars(regex(pattern = OU_ID))]
    identifier: String,
    /// Free text shown in plans and reports.
    note: Option<String>,
    /// Tags kept on the accounts of this OU.
    account_tags: Option<Tags>,
    /// Tag keys removed from the accounts of this OU.
    unset_tags: Option<Vec<String>>,
    /// Preparation of assigned accounts.
    preparation: Option<Feature>,
    /// Purge of expired accounts.
    purge: Option<Feature>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct AccountItem {
    /// The account id: 12 digits, quoted.
    #[schemars(regex(pattern = ACCOUNT_ID))]
    identifier: String,
    /// Free text shown in plans and reports.
    note: Option<String>,
    /// Tags kept on this account.
    account_tags: Option<Tags>,
    /// Tag keys removed from this account.
    unset_tags: Option<Vec<String>>,
    /// Preparation of this account.
    preparation: Option<Feature>,
    /// Purge of this account.
    purge: Option<Feature>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Features {
    /// Publish `/<env>/Accounts/<id>` for every listed account, as the predecessor did (nothing in spa reads them back). Default: true.
    with_account_parameters: Option<bool>,
    /// Run on ARM (Graviton). Default: false.
    with_arm_architecture: Option<bool>,
    /// Recipients of the monthly cost e-mail (at most 50; needs `with_origin_email_recipient`).
    with_cost_email_recipients: Option<Vec<String>>,
    /// Extra currencies in cost reports (ISO 4217): one more charges summary each.
    with_cost_extra_currencies: Option<Vec<String>>,
    /// The account tag whose value is the cost center; setting it turns the cost reports on. Default: cost-center.
    with_cost_management_tag: Option<String>,
    /// CSV files of tags and variables, relative to settings.yaml.
    with_csv_files: Option<Vec<String>>,
    /// E-mail subscriptions of `<env>Exceptions`, kept as desired state by plan and apply (needs `automation.account_id`).
    with_email_subscriptions_on_alerts: Option<Vec<String>>,
    /// End-user documents: label to path.
    with_end_user_documents: Option<BTreeMap<String, String>>,
    /// Microsoft Teams Workflows webhook: every exception is posted as an Adaptive Card. https (http only to 127.0.0.1 or localhost).
    #[schemars(regex(pattern = r"^(https://|http://(127\.0\.0\.1|localhost)([:/?#]|$))"))]
    with_microsoft_webhook_on_alerts: Option<String>,
    /// Sender of the cost e-mail (an SES identity), optionally with a display name.
    with_origin_email_recipient: Option<String>,
    /// ARN of an Incident Manager response plan: every exception starts an incident, which links the account's month-to-date costs.
    #[schemars(regex(pattern = r"^arn:"))]
    with_response_plan_arn: Option<String>,
    /// Slack incoming webhook: every exception is posted. https (http only to 127.0.0.1 or localhost).
    #[schemars(regex(pattern = r"^(https://|http://(127\.0\.0\.1|localhost)([:/?#]|$))"))]
    with_slack_webhook_on_alerts: Option<String>,
    /// Prefix of the tags spa writes (`<prefix>state`, `<prefix>holder`). Default: account-.
    with_tag_prefix: Option<String>,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct Reporting {
    /// Default: SpaReports/Activities.
    activities_prefix: Option<String>,
    /// When the activities of the past month are reported (UTC). Default: `cron(42 3 1 * ? *)`.
    #[schemars(regex(pattern = SCHEDULE))]
    activities_schedule_expression: Option<String>,
    /// When the activities of the month so far are reported (UTC). Default: `cron(42 3 ? * SAT *)`.
    #[schemars(regex(pattern = SCHEDULE))]
    activities_month_to_date_schedule_expression: Option<String>,
    /// Where the monthly cost reports are written. Default: SpaReports/Costs.
    costs_prefix: Option<String>,
    /// When the daily cost metric is computed (UTC). Default: `cron(42 0 * * ? *)`.
    #[schemars(regex(pattern = SCHEDULE))]
    costs_daily_schedule_expression: Option<String>,
    /// When the early monthly cost report is made (UTC). Default: `cron(0 4 6 * ? *)`.
    #[schemars(regex(pattern = SCHEDULE))]
    costs_early_schedule_expression: Option<String>,
    /// Source of the exchange rates of `with_cost_extra_currencies`: https (http only to 127.0.0.1 or localhost). Default: the European Central Bank's daily reference rates.
    #[schemars(regex(pattern = r"^(https://|http://(127\.0\.0\.1|localhost)([:/?#]|$))"))]
    costs_exchange_rates_url: Option<String>,
    /// When the final monthly cost report is made and e-mailed (UTC). Default: `cron(0 4 14 * ? *)`.
    #[schemars(regex(pattern = SCHEDULE))]
    costs_final_schedule_expression: Option<String>,
    /// Markdown of cost report e-mails; `{month}` is replaced.
    costs_markdown_template: Option<String>,
    /// Where the costs an incident links are written (with `with_response_plan_arn`). Default: SpaReports/Exceptions.
    exceptions_prefix: Option<String>,
    /// Default: SpaReports/Inventories.
    inventories_prefix: Option<String>,
    /// When the weekly inventory is made (UTC). Default: `cron(23 3 ? * SAT *)`.
    #[schemars(regex(pattern = SCHEDULE))]
    inventories_schedule_expression: Option<String>,
}

#[derive(JsonSchema)]
enum AccountState {
    #[serde(rename = "vanilla")]
    Vanilla,
    #[serde(rename = "assigned")]
    Assigned,
    #[serde(rename = "released")]
    Released,
    #[serde(rename = "expired")]
    Expired,
}

#[derive(JsonSchema)]
#[schemars(deny_unknown_fields)]
struct ServiceControlPolicy {
    /// Unique; spa names the policy `<environment_identifier>-<name>`.
    #[schemars(regex(pattern = r"^[A-Za-z0-9_-]{1,100}$"))]
    name: String,
    /// Shown in AWS Organizations.
    #[schemars(length(max = 512))]
    description: Option<String>,
    /// A JSON policy document in this repository, relative to settings.yaml; at most 5,120 characters once minified.
    file: String,
    /// OUs listed in `organizational_units`.
    organizational_units: Option<Vec<OrganizationalUnitId>>,
    /// Accounts listed in `accounts` or a CSV file (quoted).
    accounts: Option<Vec<AccountId>>,
    /// Without states, the policy is attached to the OUs and accounts; with states, to each managed account of them while its life-cycle state is one of these.
    states: Option<Vec<AccountState>>,
}

#[derive(JsonSchema)]
#[schemars(transparent)]
struct OrganizationalUnitId(#[schemars(regex(pattern = OU_ID))] String);

#[derive(JsonSchema)]
#[schemars(transparent)]
struct AccountId(#[schemars(regex(pattern = ACCOUNT_ID))] String);

/// The JSON Schema (draft-07, which YAML language servers support best), pretty-printed.
pub fn json_schema() -> String {
    let generator = schemars::generate::SchemaSettings::draft07().into_generator();
    let schema = generator.into_root_schema_for::<SettingsFile>();
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}
