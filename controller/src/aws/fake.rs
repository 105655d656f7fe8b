//! In-memory fakes of our AWS traits, for what the emulator cannot show: throttling by the
//! published quotas, transient and terminal faults, latency. They keep their own state (an
//! organization, a parameter store), run on tokio's clock (tests pause time and simulate
//! hours in milliseconds), and count the calls that reached them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use super::limits::{Family, TokenBucket};
use super::{
    Account, Aws, AwsError, BuildInfo, BuildStatus, Builds, CallCounter, ErrorKind, EventEntry,
    Events, LeaseStore, Limiters, OrganizationalUnit, OrganizationsRead, OrganizationsWrite, Page,
    Parameter, ParametersRead, ParametersWrite, Parent, ProjectSpec, Queue, QueueMessage, Root,
    Tag, Tier, api,
};

const PAGE: usize = 20;
const SSM_PAGE: usize = 10;

/// A scripted failure: calls of `api` (any if `None`) touching `resource` (any if `None`)
/// fail with `kind`, `times` times (forever if `None`).
#[derive(Debug, Clone)]
pub struct Fault {
    pub api: Option<&'static str>,
    pub resource: Option<String>,
    pub kind: ErrorKind,
    pub times: Option<u32>,
}

/// What every fake shares: quotas enforced server-side, faults, latency, a throttling storm,
/// and a count of the calls that reached it.
#[derive(Debug)]
pub struct Behaviour {
    quotas: Mutex<BTreeMap<&'static str, Arc<TokenBucket>>>,
    enforce_quotas: bool,
    faults: Mutex<Vec<Fault>>,
    latency: Mutex<Duration>,
    storm_until: Mutex<Option<Instant>>,
    pub served: CallCounter,
}

impl Default for Behaviour {
    fn default() -> Self {
        Behaviour {
            quotas: Mutex::default(),
            enforce_quotas: false,
            faults: Mutex::default(),
            latency: Mutex::new(Duration::ZERO),
            storm_until: Mutex::new(None),
            served: CallCounter::default(),
        }
    }
}

/// The family (and so the published quota) of each API the fakes serve.
fn family(api: &str) -> Family {
    match api {
        api::LIST_ROOTS => Family::OrgListRoots,
        api::LIST_ACCOUNTS_FOR_PARENT
        | api::LIST_PARENTS
        | api::LIST_ORGANIZATIONAL_UNITS_FOR_PARENT => Family::OrgListParents,
        api::LIST_TAGS_FOR_RESOURCE => Family::OrgListTags,
        api::TAG_RESOURCE | api::UNTAG_RESOURCE => Family::OrgTag,
        api::DESCRIBE_ACCOUNT | api::DESCRIBE_ORGANIZATIONAL_UNIT => Family::OrgDescribe,
        api::GET_PARAMETERS_BY_PATH => Family::SsmRead,
        api::PUT_PARAMETER | api::DELETE_PARAMETERS => Family::SsmWrite,
        _ => Family::Other,
    }
}

impl Behaviour {
    /// Enforces AWS's published quotas (per calling account) like AWS does: by throttling.
    pub fn with_quotas() -> Behaviour {
        Behaviour {
            enforce_quotas: true,
            ..Behaviour::default()
        }
    }

    pub fn set_latency(&self, latency: Duration) {
        *self.latency.lock().unwrap_or_else(|p| p.into_inner()) = latency;
    }

    pub fn inject(&self, fault: Fault) {
        self.faults
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(fault);
    }

    /// Every call is throttled for `duration` from now.
    pub fn storm(&self, duration: Duration) {
        *self.storm_until.lock().unwrap_or_else(|p| p.into_inner()) =
            Some(Instant::now() + duration);
    }

    /// Called at the start of each fake call: latency, storm, quotas, scripted faults.
    async fn enter(&self, api: &'static str, resource: &str) -> Result<(), AwsError> {
        let latency = *self.latency.lock().unwrap_or_else(|p| p.into_inner());
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let fail = |kind: ErrorKind, code: &str| {
            self.served.record(api, kind.as_str());
            Err(AwsError::new(api, kind, code, "injected by the fake"))
        };
        let storm = *self.storm_until.lock().unwrap_or_else(|p| p.into_inner());
        if storm.is_some_and(|until| Instant::now() < until) {
            return fail(ErrorKind::Throttled, "TooManyRequestsException");
        }
        if self.enforce_quotas {
            let bucket = {
                let mut quotas = self.quotas.lock().unwrap_or_else(|p| p.into_inner());
                quotas
                    .entry(api)
                    .or_insert_with(|| Arc::new(TokenBucket::new(family(api).default_quota())))
                    .clone()
            };
            if bucket.try_take().is_err() {
                return fail(ErrorKind::Throttled, "TooManyRequestsException");
            }
        }
        let injected = {
            let mut faults = self.faults.lock().unwrap_or_else(|p| p.into_inner());
            let position = faults.iter().position(|f| {
                f.api.is_none_or(|a| a == api)
                    && f.resource.as_deref().is_none_or(|r| r == resource)
            });
            position.map(|index| {
                let kind = faults[index].kind;
                match &mut faults[index].times {
                    Some(1) => {
                        faults.remove(index);
                    }
                    Some(n) => *n -= 1,
                    None => {}
                }
                kind
            })
        };
        if let Some(kind) = injected {
            return fail(kind, "InjectedFault");
        }
        self.served.record(api, "ok");
        Ok(())
    }
}

#[derive(Debug, Clone)]
struct FakeUnit {
    name: String,
    parent: String,
}

#[derive(Debug, Clone)]
struct FakeAccount {
    account: Account,
    parent: String,
    tags: BTreeMap<String, String>,
}

#[derive(Debug, Default)]
struct OrgState {
    root: String,
    units: BTreeMap<String, FakeUnit>,
    accounts: BTreeMap<String, FakeAccount>,
}

/// An organization in memory.
#[derive(Debug)]
pub struct FakeOrganizations {
    state: Mutex<OrgState>,
    pub behaviour: Behaviour,
}

fn not_found(api: &'static str, code: &str, what: &str) -> AwsError {
    AwsError::new(api, ErrorKind::NotFound, code, format!("{what} not found"))
}

fn paginate<T: Clone>(items: &[T], token: Option<String>, size: usize) -> Page<T> {
    let start: usize = token.and_then(|t| t.parse().ok()).unwrap_or(0);
    let end = (start + size).min(items.len());
    Page {
        items: items.get(start..end).map(<[T]>::to_vec).unwrap_or_default(),
        next_token: (end < items.len()).then(|| end.to_string()),
    }
}

impl FakeOrganizations {
    pub fn new(behaviour: Behaviour) -> FakeOrganizations {
        FakeOrganizations {
            state: Mutex::new(OrgState {
                root: "r-fake".to_string(),
                ..OrgState::default()
            }),
            behaviour,
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, OrgState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn root_id(&self) -> String {
        self.state().root.clone()
    }

    pub fn add_unit(&self, id: &str, name: &str, parent: &str) {
        self.state().units.insert(
            id.to_string(),
            FakeUnit {
                name: name.to_string(),
                parent: parent.to_string(),
            },
        );
    }

    pub fn add_account(&self, id: &str, name: &str, parent: &str, tags: &[(&str, &str)]) {
        self.state().accounts.insert(
            id.to_string(),
            FakeAccount {
                account: Account {
                    id: id.to_string(),
                    name: name.to_string(),
                    email: format!("{name}@example.com"),
                    status: "ACTIVE".to_string(),
                },
                parent: parent.to_string(),
                tags: tags
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            },
        );
    }

    /// The tags of an account as the fake holds them.
    pub fn tags_of(&self, id: &str) -> BTreeMap<String, String> {
        self.state()
            .accounts
            .get(id)
            .map(|a| a.tags.clone())
            .unwrap_or_default()
    }
}

#[async_trait]
impl OrganizationsRead for FakeOrganizations {
    async fn list_roots(&self, next_token: Option<String>) -> Result<Page<Root>, AwsError> {
        self.behaviour.enter(api::LIST_ROOTS, "").await?;
        let roots = vec![Root { id: self.root_id() }];
        Ok(paginate(&roots, next_token, PAGE))
    }

    async fn describe_organizational_unit(&self, id: &str) -> Result<OrganizationalUnit, AwsError> {
        self.behaviour
            .enter(api::DESCRIBE_ORGANIZATIONAL_UNIT, id)
            .await?;
        let state = self.state();
        state
            .units
            .get(id)
            .map(|u| OrganizationalUnit {
                id: id.to_string(),
                name: u.name.clone(),
            })
            .ok_or_else(|| {
                not_found(
                    api::DESCRIBE_ORGANIZATIONAL_UNIT,
                    "OrganizationalUnitNotFoundException",
                    id,
                )
            })
    }

    async fn list_organizational_units_for_parent(
        &self,
        parent: &str,
        next_token: Option<String>,
    ) -> Result<Page<OrganizationalUnit>, AwsError> {
        self.behaviour
            .enter(api::LIST_ORGANIZATIONAL_UNITS_FOR_PARENT, parent)
            .await?;
        let state = self.state();
        let units: Vec<OrganizationalUnit> = state
            .units
            .iter()
            .filter(|(_, u)| u.parent == parent)
            .map(|(id, u)| OrganizationalUnit {
                id: id.clone(),
                name: u.name.clone(),
            })
            .collect();
        Ok(paginate(&units, next_token, PAGE))
    }

    async fn list_accounts_for_parent(
        &self,
        parent: &str,
        next_token: Option<String>,
    ) -> Result<Page<Account>, AwsError> {
        self.behaviour
            .enter(api::LIST_ACCOUNTS_FOR_PARENT, parent)
            .await?;
        let state = self.state();
        if parent != state.root && !state.units.contains_key(parent) {
            return Err(not_found(
                api::LIST_ACCOUNTS_FOR_PARENT,
                "ParentNotFoundException",
                parent,
            ));
        }
        let accounts: Vec<Account> = state
            .accounts
            .values()
            .filter(|a| a.parent == parent)
            .map(|a| a.account.clone())
            .collect();
        Ok(paginate(&accounts, next_token, PAGE))
    }

    async fn list_tags_for_resource(
        &self,
        id: &str,
        next_token: Option<String>,
    ) -> Result<Page<Tag>, AwsError> {
        self.behaviour
            .enter(api::LIST_TAGS_FOR_RESOURCE, id)
            .await?;
        let state = self.state();
        let account = state
            .accounts
            .get(id)
            .ok_or_else(|| not_found(api::LIST_TAGS_FOR_RESOURCE, "TargetNotFoundException", id))?;
        let tags: Vec<Tag> = account
            .tags
            .iter()
            .map(|(k, v)| Tag {
                key: k.clone(),
                value: v.clone(),
            })
            .collect();
        Ok(paginate(&tags, next_token, PAGE))
    }

    async fn describe_account(&self, id: &str) -> Result<Account, AwsError> {
        self.behaviour.enter(api::DESCRIBE_ACCOUNT, id).await?;
        self.state()
            .accounts
            .get(id)
            .map(|a| a.account.clone())
            .ok_or_else(|| not_found(api::DESCRIBE_ACCOUNT, "AccountNotFoundException", id))
    }

    async fn list_parents(
        &self,
        child: &str,
        next_token: Option<String>,
    ) -> Result<Page<Parent>, AwsError> {
        self.behaviour.enter(api::LIST_PARENTS, child).await?;
        let state = self.state();
        let parent = state
            .accounts
            .get(child)
            .map(|a| a.parent.clone())
            .or_else(|| state.units.get(child).map(|u| u.parent.clone()))
            .ok_or_else(|| not_found(api::LIST_PARENTS, "ChildNotFoundException", child))?;
        let kind = if parent == state.root {
            "ROOT"
        } else {
            "ORGANIZATIONAL_UNIT"
        };
        Ok(paginate(
            &[Parent {
                id: parent,
                kind: kind.to_string(),
            }],
            next_token,
            PAGE,
        ))
    }
}

#[async_trait]
impl OrganizationsWrite for FakeOrganizations {
    async fn tag_resource(&self, id: &str, tags: &[Tag]) -> Result<(), AwsError> {
        self.behaviour.enter(api::TAG_RESOURCE, id).await?;
        let mut state = self.state();
        let account = state
            .accounts
            .get_mut(id)
            .ok_or_else(|| not_found(api::TAG_RESOURCE, "TargetNotFoundException", id))?;
        for tag in tags {
            account.tags.insert(tag.key.clone(), tag.value.clone());
        }
        Ok(())
    }

    async fn untag_resource(&self, id: &str, keys: &[String]) -> Result<(), AwsError> {
        self.behaviour.enter(api::UNTAG_RESOURCE, id).await?;
        let mut state = self.state();
        let account = state
            .accounts
            .get_mut(id)
            .ok_or_else(|| not_found(api::UNTAG_RESOURCE, "TargetNotFoundException", id))?;
        for key in keys {
            account.tags.remove(key);
        }
        Ok(())
    }
}

/// A parameter store in memory.
#[derive(Debug, Default)]
pub struct FakeParameters {
    parameters: Mutex<BTreeMap<String, (String, Tier, i64)>>,
    pub behaviour: Behaviour,
}

impl FakeParameters {
    pub fn new(behaviour: Behaviour) -> FakeParameters {
        FakeParameters {
            parameters: Mutex::default(),
            behaviour,
        }
    }

    pub fn insert(&self, name: &str, value: &str) {
        let mut parameters = self.parameters.lock().unwrap_or_else(|p| p.into_inner());
        let version = parameters.get(name).map_or(1, |(_, _, v)| v + 1);
        parameters.insert(
            name.to_string(),
            (value.to_string(), Tier::Standard, version),
        );
    }

    pub fn get(&self, name: &str) -> Option<(String, Tier)> {
        let parameters = self.parameters.lock().unwrap_or_else(|p| p.into_inner());
        parameters.get(name).map(|(v, t, _)| (v.clone(), *t))
    }
}

#[async_trait]
impl ParametersRead for FakeParameters {
    async fn get_parameters_by_path(
        &self,
        path: &str,
        next_token: Option<String>,
    ) -> Result<Page<Parameter>, AwsError> {
        self.behaviour
            .enter(api::GET_PARAMETERS_BY_PATH, path)
            .await?;
        let prefix = if path.ends_with('/') {
            path.to_string()
        } else {
            format!("{path}/")
        };
        let parameters = self.parameters.lock().unwrap_or_else(|p| p.into_inner());
        let matching: Vec<Parameter> = parameters
            .iter()
            .filter(|(name, _)| name.starts_with(&prefix))
            .map(|(name, (value, _, version))| Parameter {
                name: name.clone(),
                value: value.clone(),
                version: *version,
            })
            .collect();
        Ok(paginate(&matching, next_token, SSM_PAGE))
    }
}

#[async_trait]
impl ParametersWrite for FakeParameters {
    async fn put_parameter(&self, name: &str, value: &str, tier: Tier) -> Result<(), AwsError> {
        self.behaviour.enter(api::PUT_PARAMETER, name).await?;
        let mut parameters = self.parameters.lock().unwrap_or_else(|p| p.into_inner());
        let version = parameters.get(name).map_or(1, |(_, _, v)| v + 1);
        parameters.insert(name.to_string(), (value.to_string(), tier, version));
        Ok(())
    }

    async fn delete_parameters(&self, names: &[String]) -> Result<(), AwsError> {
        self.behaviour.enter(api::DELETE_PARAMETERS, "").await?;
        let mut parameters = self.parameters.lock().unwrap_or_else(|p| p.into_inner());
        for name in names {
            parameters.remove(name);
        }
        Ok(())
    }
}

/// [`Aws`] on fakes, with the default limiters and retry policy.
pub fn aws(organizations: Arc<FakeOrganizations>, parameters: Arc<FakeParameters>) -> Aws {
    Aws::new(organizations, parameters, Arc::new(Limiters::default()))
}

/// A lease table in memory, shared by the controllers of a test.
#[derive(Debug, Default)]
pub struct FakeLease {
    leases: Mutex<BTreeMap<String, (String, i64)>>,
}

#[async_trait]
impl LeaseStore for FakeLease {
    async fn acquire(
        &self,
        lease: &str,
        holder: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<bool, AwsError> {
        let mut leases = self.leases.lock().unwrap_or_else(|p| p.into_inner());
        let free = match leases.get(lease) {
            None => true,
            Some((current, until)) => current == holder || *until < now,
        };
        if free {
            leases.insert(lease.to_string(), (holder.to_string(), expires_at));
        }
        Ok(free)
    }

    async fn release(&self, lease: &str, holder: &str) -> Result<(), AwsError> {
        let mut leases = self.leases.lock().unwrap_or_else(|p| p.into_inner());
        if leases
            .get(lease)
            .is_some_and(|(current, _)| current == holder)
        {
            leases.remove(lease);
        }
        Ok(())
    }
}

/// A clock on tokio's time, starting at `base_ms`: with paused time, hours pass in
/// milliseconds and the fakes and the life cycle agree on it.
pub fn virtual_clock(base_ms: i64) -> super::Clock {
    let start = Instant::now();
    Arc::new(move || base_ms + start.elapsed().as_millis() as i64)
}

/// How long fake builds run.
#[derive(Debug, Clone, Copy, Default)]
pub enum RunTime {
    /// Until this many status reads.
    #[default]
    Instant,
    Polls(u32),
    Time(Duration),
}

/// CodeBuild of one account in memory: builds run for a number of status reads or a time,
/// then end with the outcome scripted for them (succeeded by default). Idempotency tokens
/// are honoured.
pub struct FakeBuilds {
    state: Mutex<BuildsState>,
    pub behaviour: Behaviour,
    clock: super::Clock,
}

impl std::fmt::Debug for FakeBuilds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeBuilds").finish_non_exhaustive()
    }
}

impl Default for FakeBuilds {
    fn default() -> Self {
        FakeBuilds {
            state: Mutex::default(),
            behaviour: Behaviour::default(),
            clock: super::system_clock(),
        }
    }
}

#[derive(Debug)]
struct FakeBuild {
    project: String,
    polls_left: u32,
    ends_at: Option<Instant>,
    outcome: BuildStatus,
    started_ms: i64,
}

#[derive(Debug, Default)]
struct BuildsState {
    roles: BTreeSet<String>,
    projects: BTreeMap<String, ProjectSpec>,
    builds: BTreeMap<String, FakeBuild>,
    tokens: BTreeMap<String, String>,
    outcomes: std::collections::VecDeque<BuildStatus>,
    duration: RunTime,
    started: u32,
}

impl FakeBuilds {
    /// Builds take `polls` status reads to finish.
    pub fn with_duration(polls: u32) -> FakeBuilds {
        let builds = FakeBuilds::default();
        builds.lock().duration = RunTime::Polls(polls);
        builds
    }

    /// Builds run for `duration` of `clock`'s time (tokio's).
    pub fn with_run_time(duration: Duration, clock: super::Clock) -> FakeBuilds {
        let builds = FakeBuilds {
            clock,
            ..FakeBuilds::default()
        };
        builds.lock().duration = RunTime::Time(duration);
        builds
    }

    pub fn with_clock(mut self, clock: super::Clock) -> FakeBuilds {
        self.clock = clock;
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BuildsState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next builds end with these statuses, in order (then: succeeded).
    pub fn script(&self, outcomes: &[BuildStatus]) {
        self.lock().outcomes.extend(outcomes.iter().cloned());
    }

    /// Builds started (idempotent repeats not counted).
    pub fn started(&self) -> u32 {
        self.lock().started
    }

    /// Builds started of `project`.
    pub fn started_of(&self, project: &str) -> usize {
        self.lock()
            .builds
            .values()
            .filter(|b| b.project == project)
            .count()
    }

    pub fn project(&self, name: &str) -> Option<ProjectSpec> {
        self.lock().projects.get(name).cloned()
    }
}

#[async_trait]
impl Builds for FakeBuilds {
    async fn ensure_service_role(&self, role_name: &str) -> Result<String, AwsError> {
        self.behaviour.enter(api::CREATE_ROLE, role_name).await?;
        self.lock().roles.insert(role_name.to_string());
        Ok(format!("arn:aws:iam::000000000000:role/{role_name}"))
    }

    async fn ensure_project(&self, spec: &ProjectSpec) -> Result<(), AwsError> {
        self.behaviour
            .enter(api::CREATE_PROJECT, &spec.name)
            .await?;
        self.lock().projects.insert(spec.name.clone(), spec.clone());
        Ok(())
    }

    async fn start_build(
        &self,
        project: &str,
        idempotency_token: &str,
    ) -> Result<String, AwsError> {
        self.behaviour.enter(api::START_BUILD, project).await?;
        let now_ms = (self.clock)();
        let mut state = self.lock();
        if !state.projects.contains_key(project) {
            return Err(AwsError::new(
                api::START_BUILD,
                ErrorKind::NotFound,
                "ResourceNotFoundException",
                "no such project",
            ));
        }
        if let Some(id) = state.tokens.get(idempotency_token) {
            return Ok(id.clone());
        }
        state.started += 1;
        let id = format!("{project}:{:08}", state.started);
        let outcome = state.outcomes.pop_front().unwrap_or(BuildStatus::Succeeded);
        let (polls_left, ends_at) = match state.duration {
            RunTime::Instant => (0, None),
            RunTime::Polls(polls) => (polls, None),
            RunTime::Time(duration) => (0, Some(Instant::now() + duration)),
        };
        state.builds.insert(
            id.clone(),
            FakeBuild {
                project: project.to_string(),
                polls_left,
                ends_at,
                outcome,
                started_ms: now_ms,
            },
        );
        state
            .tokens
            .insert(idempotency_token.to_string(), id.clone());
        Ok(id)
    }

    async fn builds(&self, ids: &[String]) -> Result<Vec<BuildInfo>, AwsError> {
        self.behaviour.enter(api::BATCH_GET_BUILDS, "").await?;
        let mut state = self.lock();
        Ok(ids
            .iter()
            .filter_map(|id| {
                let build = state.builds.get_mut(id)?;
                let status = if build.polls_left > 0 {
                    build.polls_left -= 1;
                    BuildStatus::InProgress
                } else if build.ends_at.is_some_and(|t| Instant::now() < t) {
                    BuildStatus::InProgress
                } else {
                    build.outcome.clone()
                };
                Some(BuildInfo {
                    id: id.clone(),
                    status,
                    started_ms: build.started_ms,
                })
            })
            .collect())
    }

    async fn recent_builds(&self, project: &str) -> Result<Vec<String>, AwsError> {
        self.behaviour
            .enter(api::LIST_BUILDS_FOR_PROJECT, project)
            .await?;
        let state = self.lock();
        let mut ids: Vec<String> = state
            .builds
            .iter()
            .filter(|(_, b)| b.project == project)
            .map(|(id, _)| id.clone())
            .collect();
        ids.reverse();
        Ok(ids)
    }

    async fn project_arn(&self, name: &str) -> Result<Option<String>, AwsError> {
        self.behaviour.enter(api::BATCH_GET_PROJECTS, name).await?;
        Ok(self
            .lock()
            .projects
            .contains_key(name)
            .then(|| format!("arn:aws:codebuild:eu-west-1:000000000000:project/{name}")))
    }
}

/// CodeBuild in every account of a fake organization: one [`FakeBuilds`] per account, made
/// on first use from `make`; accounts can refuse the role.
pub struct FakeAccountBuilds {
    accounts: Mutex<BTreeMap<String, Arc<FakeBuilds>>>,
    make: Box<dyn Fn() -> FakeBuilds + Send + Sync>,
    refused: Mutex<BTreeSet<String>>,
}

impl FakeAccountBuilds {
    pub fn new(make: impl Fn() -> FakeBuilds + Send + Sync + 'static) -> FakeAccountBuilds {
        FakeAccountBuilds {
            accounts: Mutex::default(),
            make: Box::new(make),
            refused: Mutex::default(),
        }
    }

    pub fn account(&self, account: &str) -> Arc<FakeBuilds> {
        self.accounts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(account.to_string())
            .or_insert_with(|| Arc::new((self.make)()))
            .clone()
    }

    /// The role cannot be assumed in `account` (a broken account).
    pub fn refuse(&self, account: &str) {
        self.refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(account.to_string());
    }

    /// Builds started in all accounts.
    pub fn started(&self) -> u32 {
        self.accounts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .map(|b| b.started())
            .sum()
    }

    /// Accounts where at least one build of `project` started.
    pub fn accounts_with(&self, project: &str) -> usize {
        self.accounts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|b| b.started_of(project) > 0)
            .count()
    }
}

#[async_trait]
impl super::AccountBuilds for FakeAccountBuilds {
    async fn builds_in(&self, account: &str) -> Result<Arc<dyn Builds>, AwsError> {
        let refused = self
            .refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(account);
        if refused {
            return Err(AwsError::new(
                "AssumeRole",
                ErrorKind::AccessDenied,
                "AccessDenied",
                format!("not authorized to assume the role in {account} (injected by the fake)"),
            ));
        }
        Ok(self.account(account))
    }
}

/// An event bus in memory: what was put, in order.
#[derive(Debug, Default)]
pub struct FakeEvents {
    pub put: Mutex<Vec<(String, EventEntry)>>,
    pub behaviour: Behaviour,
}

#[async_trait]
impl Events for FakeEvents {
    async fn put_events(&self, bus: &str, entries: &[EventEntry]) -> Result<(), AwsError> {
        self.behaviour.enter(api::PUT_EVENTS, bus).await?;
        let mut put = self.put.lock().unwrap_or_else(|p| p.into_inner());
        put.extend(entries.iter().map(|e| (bus.to_string(), e.clone())));
        Ok(())
    }
}

/// A queue in memory; messages can be lost, duplicated or reordered by the test.
#[derive(Debug, Default)]
pub struct FakeQueue {
    messages: Mutex<std::collections::VecDeque<QueueMessage>>,
    next: std::sync::atomic::AtomicU64,
    pub behaviour: Behaviour,
}

impl FakeQueue {
    pub fn push(&self, body: &str) {
        let receipt = self
            .next
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            .to_string();
        self.messages
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push_back(QueueMessage {
                receipt,
                body: body.to_string(),
            });
    }

    pub fn len(&self) -> usize {
        self.messages
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl Queue for FakeQueue {
    async fn receive(&self, max: i32, _wait_seconds: i32) -> Result<Vec<QueueMessage>, AwsError> {
        self.behaviour.enter(api::RECEIVE_MESSAGE, "").await?;
        let messages = self.messages.lock().unwrap_or_else(|p| p.into_inner());
        Ok(messages.iter().take(max.max(1) as usize).cloned().collect())
    }

    async fn delete(&self, receipt: &str) -> Result<(), AwsError> {
        self.behaviour.enter(api::DELETE_MESSAGE, receipt).await?;
        self.messages
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|m| m.receipt != receipt);
        Ok(())
    }
}
