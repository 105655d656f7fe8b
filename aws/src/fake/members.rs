//! Member accounts in memory: CodeBuild, IAM, EventBridge and SNS of each.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use super::Behaviour;
use crate::{
    AwsError, BuildInfo, BuildStatus, Clock, ErrorKind, Member, Members, ProjectChange,
    ProjectSpec, Role, Rule, Subscription, Tag, Target, api,
};

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
pub struct FakeMember {
    state: Mutex<BuildsState>,
    pub behaviour: Behaviour,
    clock: Clock,
    account: String,
}

impl std::fmt::Debug for FakeMember {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeMember").finish_non_exhaustive()
    }
}

impl Default for FakeMember {
    fn default() -> Self {
        FakeMember {
            state: Mutex::default(),
            behaviour: Behaviour::default(),
            clock: crate::system_clock(),
            account: "000000000000".to_string(),
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

/// A role of the fake IAM.
#[derive(Debug, Clone, Default)]
pub struct FakeRole {
    pub trust_policy: String,
    pub tags: Vec<Tag>,
    pub attached: BTreeSet<String>,
    pub inline: BTreeMap<String, String>,
}

/// A topic of the fake SNS.
#[derive(Debug, Clone, Default)]
pub struct FakeTopic {
    pub policy: Option<String>,
    pub tags: Vec<Tag>,
    pub subscriptions: Vec<Subscription>,
}

#[derive(Debug, Default)]
struct BuildsState {
    roles: BTreeMap<String, FakeRole>,
    rules: BTreeMap<String, (String, Vec<Target>)>,
    topics: BTreeMap<String, FakeTopic>,
    writes: u32,
    projects: BTreeMap<String, ProjectSpec>,
    builds: BTreeMap<String, FakeBuild>,
    tokens: BTreeMap<String, String>,
    outcomes: std::collections::VecDeque<BuildStatus>,
    duration: RunTime,
    started: u32,
}

impl FakeMember {
    /// Builds take `polls` status reads to finish.
    pub fn with_duration(polls: u32) -> FakeMember {
        let builds = FakeMember::default();
        builds.lock().duration = RunTime::Polls(polls);
        builds
    }

    /// Builds run for `duration` of `clock`'s time (tokio's).
    pub fn with_run_time(duration: Duration, clock: Clock) -> FakeMember {
        let builds = FakeMember {
            clock,
            ..FakeMember::default()
        };
        builds.lock().duration = RunTime::Time(duration);
        builds
    }

    pub fn with_clock(mut self, clock: Clock) -> FakeMember {
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

    pub fn role(&self, name: &str) -> Option<FakeRole> {
        self.lock().roles.get(name).cloned()
    }

    /// A rule's pattern and targets.
    pub fn rule(&self, name: &str) -> Option<(String, Vec<Target>)> {
        self.lock().rules.get(name).cloned()
    }

    pub fn topic(&self, name: &str) -> Option<FakeTopic> {
        let arn = self.arn("sns", name);
        self.lock().topics.get(&arn).cloned()
    }

    /// Writes to IAM, EventBridge, SNS and CodeBuild projects (builds aside): a second
    /// preparation of the same account writes nothing.
    pub fn writes(&self) -> u32 {
        self.lock().writes
    }

    fn arn(&self, service: &str, name: &str) -> String {
        match service {
            "iam" => format!("arn:aws:iam::{}:role/{name}", self.account),
            "events" => format!("arn:aws:events:eu-west-1:{}:rule/{name}", self.account),
            _ => format!("arn:aws:sns:eu-west-1:{}:{name}", self.account),
        }
    }

    fn no_such(api: crate::Api, what: &str) -> AwsError {
        AwsError::new(
            api,
            ErrorKind::NotFound,
            "NoSuchEntity",
            format!("{what} not found"),
        )
    }
}

#[async_trait]
impl Member for FakeMember {
    async fn ensure_project(&self, spec: &ProjectSpec) -> Result<ProjectChange, AwsError> {
        self.behaviour
            .enter(api::CREATE_PROJECT, &spec.name)
            .await?;
        let mut state = self.lock();
        let change = match state.projects.get(&spec.name) {
            Some(current) if current == spec => return Ok(ProjectChange::Unchanged),
            Some(_) => ProjectChange::Updated,
            None => ProjectChange::Created,
        };
        state.projects.insert(spec.name.clone(), spec.clone());
        state.writes += 1;
        Ok(change)
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

    async fn get_role(&self, name: &str) -> Result<Option<Role>, AwsError> {
        self.behaviour.enter(api::GET_ROLE, name).await?;
        Ok(self.lock().roles.get(name).map(|role| Role {
            arn: self.arn("iam", name),
            trust_policy: role.trust_policy.clone(),
        }))
    }

    async fn create_role(
        &self,
        name: &str,
        trust_policy: &str,
        _description: &str,
        tags: &[Tag],
    ) -> Result<String, AwsError> {
        self.behaviour.enter(api::CREATE_ROLE, name).await?;
        let mut state = self.lock();
        if state.roles.contains_key(name) {
            return Err(AwsError::new(
                api::CREATE_ROLE,
                ErrorKind::Conflict,
                "EntityAlreadyExists",
                format!("role {name} exists"),
            ));
        }
        state.roles.insert(
            name.to_string(),
            FakeRole {
                trust_policy: trust_policy.to_string(),
                tags: tags.to_vec(),
                ..FakeRole::default()
            },
        );
        state.writes += 1;
        Ok(self.arn("iam", name))
    }

    async fn update_assume_role_policy(
        &self,
        name: &str,
        trust_policy: &str,
    ) -> Result<(), AwsError> {
        self.behaviour
            .enter(api::UPDATE_ASSUME_ROLE_POLICY, name)
            .await?;
        let mut state = self.lock();
        let role = state
            .roles
            .get_mut(name)
            .ok_or_else(|| Self::no_such(api::UPDATE_ASSUME_ROLE_POLICY, name))?;
        role.trust_policy = trust_policy.to_string();
        state.writes += 1;
        Ok(())
    }

    async fn attached_role_policies(&self, name: &str) -> Result<Vec<String>, AwsError> {
        self.behaviour
            .enter(api::LIST_ATTACHED_ROLE_POLICIES, name)
            .await?;
        let state = self.lock();
        let role = state
            .roles
            .get(name)
            .ok_or_else(|| Self::no_such(api::LIST_ATTACHED_ROLE_POLICIES, name))?;
        Ok(role.attached.iter().cloned().collect())
    }

    async fn attach_role_policy(&self, name: &str, policy_arn: &str) -> Result<(), AwsError> {
        self.behaviour.enter(api::ATTACH_ROLE_POLICY, name).await?;
        let mut state = self.lock();
        let role = state
            .roles
            .get_mut(name)
            .ok_or_else(|| Self::no_such(api::ATTACH_ROLE_POLICY, name))?;
        role.attached.insert(policy_arn.to_string());
        state.writes += 1;
        Ok(())
    }

    async fn detach_role_policy(&self, name: &str, policy_arn: &str) -> Result<(), AwsError> {
        self.behaviour.enter(api::DETACH_ROLE_POLICY, name).await?;
        let mut state = self.lock();
        let role = state
            .roles
            .get_mut(name)
            .ok_or_else(|| Self::no_such(api::DETACH_ROLE_POLICY, name))?;
        role.attached.remove(policy_arn);
        state.writes += 1;
        Ok(())
    }

    async fn get_role_policy(&self, role: &str, policy: &str) -> Result<Option<String>, AwsError> {
        self.behaviour.enter(api::GET_ROLE_POLICY, role).await?;
        Ok(self
            .lock()
            .roles
            .get(role)
            .and_then(|r| r.inline.get(policy).cloned()))
    }

    async fn put_role_policy(
        &self,
        role: &str,
        policy: &str,
        document: &str,
    ) -> Result<(), AwsError> {
        self.behaviour.enter(api::PUT_ROLE_POLICY, role).await?;
        let mut state = self.lock();
        let found = state
            .roles
            .get_mut(role)
            .ok_or_else(|| Self::no_such(api::PUT_ROLE_POLICY, role))?;
        found
            .inline
            .insert(policy.to_string(), document.to_string());
        state.writes += 1;
        Ok(())
    }

    async fn describe_rule(&self, name: &str) -> Result<Option<Rule>, AwsError> {
        self.behaviour.enter(api::DESCRIBE_RULE, name).await?;
        Ok(self.lock().rules.get(name).map(|(pattern, _)| Rule {
            arn: self.arn("events", name),
            pattern: pattern.clone(),
            state: "ENABLED".to_string(),
        }))
    }

    async fn put_rule(
        &self,
        name: &str,
        pattern: &str,
        _description: &str,
        _tags: &[Tag],
    ) -> Result<String, AwsError> {
        self.behaviour.enter(api::PUT_RULE, name).await?;
        let mut state = self.lock();
        state
            .rules
            .entry(name.to_string())
            .or_insert_with(|| (String::new(), Vec::new()))
            .0 = pattern.to_string();
        state.writes += 1;
        Ok(self.arn("events", name))
    }

    async fn rule_targets(&self, rule: &str) -> Result<Vec<Target>, AwsError> {
        self.behaviour
            .enter(api::LIST_TARGETS_BY_RULE, rule)
            .await?;
        let state = self.lock();
        let (_, targets) = state
            .rules
            .get(rule)
            .ok_or_else(|| Self::no_such(api::LIST_TARGETS_BY_RULE, rule))?;
        Ok(targets.clone())
    }

    async fn put_targets(&self, rule: &str, targets: &[Target]) -> Result<(), AwsError> {
        self.behaviour.enter(api::PUT_TARGETS, rule).await?;
        let mut state = self.lock();
        let (_, current) = state
            .rules
            .get_mut(rule)
            .ok_or_else(|| Self::no_such(api::PUT_TARGETS, rule))?;
        for target in targets {
            current.retain(|t| t.id != target.id);
            current.push(target.clone());
        }
        state.writes += 1;
        Ok(())
    }

    async fn create_topic(&self, name: &str, tags: &[Tag]) -> Result<String, AwsError> {
        self.behaviour.enter(api::CREATE_TOPIC, name).await?;
        let arn = self.arn("sns", name);
        let mut state = self.lock();
        if !state.topics.contains_key(&arn) {
            state.topics.insert(
                arn.clone(),
                FakeTopic {
                    tags: tags.to_vec(),
                    ..FakeTopic::default()
                },
            );
            state.writes += 1;
        }
        Ok(arn)
    }

    async fn topic_policy(&self, topic_arn: &str) -> Result<Option<String>, AwsError> {
        self.behaviour
            .enter(api::GET_TOPIC_ATTRIBUTES, topic_arn)
            .await?;
        let state = self.lock();
        let topic = state
            .topics
            .get(topic_arn)
            .ok_or_else(|| Self::no_such(api::GET_TOPIC_ATTRIBUTES, topic_arn))?;
        Ok(topic.policy.clone())
    }

    async fn set_topic_policy(&self, topic_arn: &str, policy: &str) -> Result<(), AwsError> {
        self.behaviour
            .enter(api::SET_TOPIC_ATTRIBUTES, topic_arn)
            .await?;
        let mut state = self.lock();
        let topic = state
            .topics
            .get_mut(topic_arn)
            .ok_or_else(|| Self::no_such(api::SET_TOPIC_ATTRIBUTES, topic_arn))?;
        topic.policy = Some(policy.to_string());
        state.writes += 1;
        Ok(())
    }

    async fn topic_subscriptions(&self, topic_arn: &str) -> Result<Vec<Subscription>, AwsError> {
        self.behaviour
            .enter(api::MEMBER_LIST_SUBSCRIPTIONS_BY_TOPIC, topic_arn)
            .await?;
        let state = self.lock();
        let topic = state
            .topics
            .get(topic_arn)
            .ok_or_else(|| Self::no_such(api::MEMBER_LIST_SUBSCRIPTIONS_BY_TOPIC, topic_arn))?;
        Ok(topic.subscriptions.clone())
    }

    async fn subscribe(
        &self,
        topic_arn: &str,
        protocol: &str,
        endpoint: &str,
    ) -> Result<(), AwsError> {
        self.behaviour
            .enter(api::MEMBER_SUBSCRIBE, topic_arn)
            .await?;
        let mut state = self.lock();
        let topic = state
            .topics
            .get_mut(topic_arn)
            .ok_or_else(|| Self::no_such(api::MEMBER_SUBSCRIBE, topic_arn))?;
        if !topic
            .subscriptions
            .iter()
            .any(|s| s.protocol == protocol && s.endpoint == endpoint)
        {
            let index = topic.subscriptions.len();
            topic.subscriptions.push(Subscription {
                arn: format!("{topic_arn}:{index:08}"),
                protocol: protocol.to_string(),
                endpoint: endpoint.to_string(),
            });
        }
        state.writes += 1;
        Ok(())
    }
}

/// CodeBuild in every account of a fake organization: one [`FakeMember`] per account, made
/// on first use from `make`; accounts can refuse the role.
pub struct FakeMembers {
    accounts: Mutex<BTreeMap<String, Arc<FakeMember>>>,
    make: Box<dyn Fn() -> FakeMember + Send + Sync>,
    refused: Mutex<BTreeSet<String>>,
}

impl FakeMembers {
    pub fn new(make: impl Fn() -> FakeMember + Send + Sync + 'static) -> FakeMembers {
        FakeMembers {
            accounts: Mutex::default(),
            make: Box::new(make),
            refused: Mutex::default(),
        }
    }

    pub fn account(&self, account: &str) -> Arc<FakeMember> {
        self.accounts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(account.to_string())
            .or_insert_with(|| {
                let mut member = (self.make)();
                member.account = account.to_string();
                Arc::new(member)
            })
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
impl Members for FakeMembers {
    fn role_name(&self) -> String {
        "AWSControlTowerExecution".to_string()
    }

    async fn member(&self, account: &str) -> Result<Arc<dyn Member>, AwsError> {
        let refused = self
            .refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(account);
        if refused {
            return Err(AwsError::new(
                api::ASSUME_ROLE,
                ErrorKind::AccessDenied,
                "AccessDenied",
                format!("not authorized to assume the role in {account} (injected by the fake)"),
            ));
        }
        Ok(self.account(account))
    }
}
