//! Member accounts in memory: CodeBuild and IAM of each.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use super::Behaviour;
use crate::{
    AwsError, BuildInfo, BuildStatus, Clock, ErrorKind, Member, Members, ProjectSpec, api,
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
}

#[async_trait]
impl Member for FakeMember {
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
impl Members for FakeMembers {
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
