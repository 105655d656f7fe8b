//! `spa dev seed`: creates an example organization in the local emulator, through the SDK,
//! from a small YAML file (`example-config-repo/organization.yaml`). The emulator generates
//! ids at random; seeding its generator first makes them reproducible, and the file states
//! the ids it expects so that a drift (another emulator version) fails loudly.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_config::SdkConfig;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::sdk::{AwsOptions, assume_role, classify, sdk_config};
use crate::{Api, AwsError, ErrorKind};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganizationSpec {
    /// Seed of the emulator's random generator.
    pub seed: u64,
    /// The management account (holds the organization) and the role spa assumes there.
    pub management_account: String,
    pub management_role: String,
    /// The role created in every member account, assumed to run CodeBuild there.
    pub member_role: String,
    #[serde(default)]
    pub accounts: Vec<AccountSpec>,
    #[serde(default)]
    pub organizational_units: Vec<UnitSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitSpec {
    pub name: String,
    /// The id the emulator is expected to generate.
    pub id: Option<String>,
    #[serde(default)]
    pub accounts: Vec<AccountSpec>,
    #[serde(default)]
    pub organizational_units: Vec<UnitSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSpec {
    pub name: String,
    pub email: String,
    pub id: Option<String>,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// What seeding created: names and ids, and ids that differ from the file's.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Seeded {
    pub root_id: String,
    pub organizational_units: Vec<(String, String)>,
    pub accounts: Vec<(String, String)>,
    pub mismatches: Vec<String>,
}

/// Reads the organization file (YAML) with spa's own located parser.
pub fn parse_spec(name: &str, text: &str) -> Result<OrganizationSpec, String> {
    let file = spa_schema::diag::intern(name);
    let mut diagnostics = Vec::new();
    let node = spa_schema::yaml::parse(file, text, &mut diagnostics);
    let mut sources = spa_schema::Sources::default();
    sources.insert(file, text);
    let Some(node) = node else {
        return Err(spa_schema::diag::render(
            &diagnostics,
            &sources,
            spa_schema::diag::Style::Plain,
        ));
    };
    serde_json::from_value(node.to_json()).map_err(|e| format!("{name}: {e}"))
}

/// POSTs to the emulator's control API (`/moto-api/seed`), which the SDK cannot reach.
async fn emulator_post(endpoint: &str, path: &str) -> Result<(), String> {
    let address = endpoint
        .strip_prefix("http://")
        .ok_or_else(|| format!("the emulator endpoint must be http://HOST:PORT, not {endpoint}"))?
        .trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(address).await.map_err(|e| {
        format!("cannot reach the emulator at {endpoint}: {e} (scripts/emulator start)")
    })?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .await
        .map_err(|e| e.to_string())?;
    let status = String::from_utf8_lossy(&response);
    if status.starts_with("HTTP/1.1 200") || status.starts_with("HTTP/1.0 200") {
        Ok(())
    } else {
        Err(format!(
            "the emulator refused {path}: {}",
            status.lines().next().unwrap_or_default()
        ))
    }
}

fn wrong(message: String) -> AwsError {
    AwsError::named("Seed", ErrorKind::Terminal, "", message)
}

struct Seeder {
    organizations: aws_sdk_organizations::Client,
    management: SdkConfig,
    spec: OrganizationSpec,
    seeded: Seeded,
}

impl Seeder {
    async fn unit(&mut self, spec: &UnitSpec, parent: &str) -> Result<(), AwsError> {
        let output = self
            .organizations
            .create_organizational_unit()
            .parent_id(parent)
            .name(&spec.name)
            .send()
            .await
            .map_err(|e| classify(Api::other("CreateOrganizationalUnit"), e))?;
        let id = output
            .organizational_unit()
            .and_then(|u| u.id())
            .unwrap_or_default()
            .to_string();
        if let Some(expected) = &spec.id
            && *expected != id
        {
            self.seeded.mismatches.push(format!(
                "organizational unit {}: expected {expected}, got {id}",
                spec.name
            ));
        }
        self.seeded
            .organizational_units
            .push((spec.name.clone(), id.clone()));
        for account in &spec.accounts {
            self.account(account, &id).await?;
        }
        for child in &spec.organizational_units {
            Box::pin(self.unit(child, &id)).await?;
        }
        Ok(())
    }

    async fn account(&mut self, spec: &AccountSpec, parent: &str) -> Result<(), AwsError> {
        let output = self
            .organizations
            .create_account()
            .email(&spec.email)
            .account_name(&spec.name)
            .send()
            .await
            .map_err(|e| classify(Api::other("CreateAccount"), e))?;
        let request = output
            .create_account_status()
            .and_then(|s| s.id())
            .unwrap_or_default()
            .to_string();
        // Account creation is asynchronous in AWS (instant in the emulator): poll.
        let mut id = String::new();
        for _ in 0..60 {
            let status = self
                .organizations
                .describe_create_account_status()
                .create_account_request_id(&request)
                .send()
                .await
                .map_err(|e| classify(Api::other("DescribeCreateAccountStatus"), e))?;
            let status = status.create_account_status();
            match status.and_then(|s| s.state()).map(|s| s.as_str()) {
                Some("SUCCEEDED") => {
                    id = status
                        .and_then(|s| s.account_id())
                        .unwrap_or_default()
                        .to_string();
                    break;
                }
                Some("FAILED") => {
                    return Err(wrong(format!("creating account {} failed", spec.name)));
                }
                _ => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        }
        if id.is_empty() {
            return Err(wrong(format!(
                "account {} was not created within 30 s",
                spec.name
            )));
        }
        if let Some(expected) = &spec.id
            && *expected != id
        {
            self.seeded.mismatches.push(format!(
                "account {}: expected {expected}, got {id}",
                spec.name
            ));
        }
        let root = self.seeded.root_id.clone();
        if parent != root {
            self.organizations
                .move_account()
                .account_id(&id)
                .source_parent_id(&root)
                .destination_parent_id(parent)
                .send()
                .await
                .map_err(|e| classify(Api::other("MoveAccount"), e))?;
        }
        if !spec.tags.is_empty() {
            let mut request = self.organizations.tag_resource().resource_id(&id);
            for (key, value) in &spec.tags {
                let tag = aws_sdk_organizations::types::Tag::builder()
                    .key(key)
                    .value(value)
                    .build()
                    .map_err(|e| wrong(e.to_string()))?;
                request = request.tags(tag);
            }
            request
                .send()
                .await
                .map_err(|e| classify(Api::other("TagResource"), e))?;
        }
        // The member role, created inside the account through the role itself, as an
        // account factory would have done.
        let member_arn = format!("arn:aws:iam::{id}:role/{}", self.spec.member_role);
        let member = assume_role(&self.management, &member_arn, "spa-seed").await;
        let trust = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{}:root"}},"Action":"sts:AssumeRole"}}]}}"#,
            self.spec.management_account
        );
        aws_sdk_iam::Client::new(&member)
            .create_role()
            .role_name(&self.spec.member_role)
            .assume_role_policy_document(trust)
            .send()
            .await
            .map_err(|e| classify(Api::other("CreateRole"), e))?;
        self.seeded.accounts.push((spec.name.clone(), id));
        Ok(())
    }
}

/// Seeds the emulator at `options.endpoint_url` with the organization of `spec`.
pub async fn seed(options: &AwsOptions, spec: OrganizationSpec) -> Result<Seeded, AwsError> {
    let endpoint = options
        .endpoint_url
        .clone()
        .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
        .ok_or_else(|| wrong("seeding needs the emulator: set AWS_ENDPOINT_URL or --endpoint-url (scripts/emulator start)".into()))?;
    emulator_post(&endpoint, "/moto-api/reset")
        .await
        .map_err(wrong)?;
    emulator_post(&endpoint, &format!("/moto-api/seed?a={}", spec.seed))
        .await
        .map_err(wrong)?;
    let mut options = options.clone();
    options.endpoint_url = Some(endpoint);
    let base = sdk_config(&options).await;
    let management_arn = format!(
        "arn:aws:iam::{}:role/{}",
        spec.management_account, spec.management_role
    );
    let management = assume_role(&base, &management_arn, "spa-seed").await;
    let organizations = aws_sdk_organizations::Client::new(&management);
    organizations
        .create_organization()
        .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
        .send()
        .await
        .map_err(|e| classify(Api::other("CreateOrganization"), e))?;
    let roots = organizations
        .list_roots()
        .send()
        .await
        .map_err(|e| classify(Api::other("ListRoots"), e))?;
    let root_id = roots
        .roots()
        .first()
        .and_then(|r| r.id())
        .unwrap_or_default()
        .to_string();
    let mut seeder = Seeder {
        organizations,
        management,
        spec: spec.clone(),
        seeded: Seeded {
            root_id: root_id.clone(),
            ..Seeded::default()
        },
    };
    for account in &spec.accounts {
        seeder.account(account, &root_id).await?;
    }
    for unit in &spec.organizational_units {
        seeder.unit(unit, &root_id).await?;
    }
    Ok(seeder.seeded)
}
