//! In-memory fakes of our AWS traits, for what the emulator cannot show: throttling by the
//! published quotas, transient and terminal faults, latency. They keep their own state (an
//! organization, a parameter store), run on tokio's clock (tests pause time and simulate
//! hours in milliseconds), and count the calls that reached them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::limits::{Family, TokenBucket};
use crate::{Api, AwsError, CallCounter, ErrorKind, Page};

mod costs;
mod events;
mod incidents;
mod leases;
mod mail;
mod members;
mod monitoring;
mod objects;
mod organizations;
mod parameters;
mod policies;
mod queues;
mod records;
mod topics;

pub use costs::{FakeCosts, LineItem};
pub use events::FakeEvents;
pub use incidents::FakeIncidents;
pub use leases::FakeLeases;
pub use mail::{FakeMail, SentMail};
pub use members::{FakeMember, FakeMembers, FakeRole, FakeTopic, RunTime};
pub use monitoring::FakeMonitoring;
pub use objects::FakeObjects;
pub use organizations::FakeOrganizations;
pub use parameters::FakeParameters;
pub use queues::FakeQueues;
pub use records::{FakeRecords, RECORD_PAGE};
pub use topics::FakeTopics;

const PAGE: usize = 20;
const SSM_PAGE: usize = 10;

/// A scripted failure: calls of `api` (any if `None`) touching `resource` (any if `None`)
/// fail with `kind`, `times` times (forever if `None`).
#[derive(Debug, Clone)]
pub struct Fault {
    pub api: Option<Api>,
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
    async fn enter(&self, api: Api, resource: &str) -> Result<(), AwsError> {
        let latency = *self.latency.lock().unwrap_or_else(|p| p.into_inner());
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let fail = |kind: ErrorKind, code: &str| {
            self.served.record(api.name, kind.as_str());
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
                    .entry(api.name)
                    .or_insert_with(|| {
                        let family = api.family.unwrap_or(Family::Other);
                        Arc::new(TokenBucket::new(family.default_quota()))
                    })
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
        self.served.record(api.name, "ok");
        Ok(())
    }
}

/// A clock on tokio's time, starting at `base_ms`: with paused time, hours pass in
/// milliseconds and the fakes and the life cycle agree on it.
pub fn virtual_clock(base_ms: i64) -> crate::Clock {
    let start = Instant::now();
    Arc::new(move || base_ms + i64::try_from(start.elapsed().as_millis()).unwrap_or(i64::MAX))
}

fn not_found(api: Api, code: &str, what: &str) -> AwsError {
    AwsError::new(api, ErrorKind::NotFound, code, format!("{what} not found"))
}

fn paginate<T: Clone>(items: &[T], token: Option<String>, size: usize) -> Page<T> {
    let start: usize = token.and_then(|t| t.parse().ok()).unwrap_or(0);
    let end = start.saturating_add(size).min(items.len());
    Page {
        items: items.get(start..end).map(<[T]>::to_vec).unwrap_or_default(),
        next_token: (end < items.len()).then(|| end.to_string()),
    }
}

/// Every fake backend of one test, and the [`crate::Aws`] over them.
#[derive(Clone)]
pub struct Fakes {
    pub organizations: Arc<FakeOrganizations>,
    pub parameters: Arc<FakeParameters>,
    pub members: Arc<FakeMembers>,
    pub events: Arc<FakeEvents>,
    pub queues: Arc<FakeQueues>,
    pub leases: Arc<FakeLeases>,
    pub topics: Arc<FakeTopics>,
    pub incidents: Arc<FakeIncidents>,
    pub records: Arc<FakeRecords>,
    pub objects: Arc<FakeObjects>,
    pub monitoring: Arc<FakeMonitoring>,
    pub costs: Arc<FakeCosts>,
    pub mail: Arc<FakeMail>,
}

impl Default for Fakes {
    fn default() -> Self {
        Fakes::new(Behaviour::default, FakeMember::default)
    }
}

impl Fakes {
    /// Fakes whose Organizations and SSM behave as `behaviour()` says, and whose member
    /// accounts are made by `member`.
    pub fn new(
        behaviour: impl Fn() -> Behaviour,
        member: impl Fn() -> FakeMember + Send + Sync + 'static,
    ) -> Fakes {
        Fakes {
            organizations: Arc::new(FakeOrganizations::new(behaviour())),
            parameters: Arc::new(FakeParameters::new(behaviour())),
            members: Arc::new(FakeMembers::new(member)),
            events: Arc::new(FakeEvents::default()),
            queues: Arc::new(FakeQueues::default()),
            leases: Arc::new(FakeLeases::default()),
            topics: Arc::new(FakeTopics::default()),
            incidents: Arc::new(FakeIncidents::default()),
            records: Arc::new(FakeRecords::default()),
            objects: Arc::new(FakeObjects::default()),
            monitoring: Arc::new(FakeMonitoring::default()),
            costs: Arc::new(FakeCosts::default()),
            mail: Arc::new(FakeMail::default()),
        }
    }

    pub fn backends(&self) -> crate::Backends {
        crate::Backends {
            organizations: self.organizations.clone(),
            policies: self.organizations.clone(),
            parameters: self.parameters.clone(),
            members: self.members.clone(),
            events: self.events.clone(),
            queues: self.queues.clone(),
            leases: self.leases.clone(),
            topics: self.topics.clone(),
            incidents: self.incidents.clone(),
            records: self.records.clone(),
            objects: self.objects.clone(),
            monitoring: self.monitoring.clone(),
            costs: self.costs.clone(),
            mail: self.mail.clone(),
        }
    }

    /// [`crate::Aws`] on these fakes, with the default limiters and retry policy.
    pub fn aws(&self) -> crate::Aws {
        crate::Aws::new(self.backends(), Arc::new(crate::Limiters::default()))
    }

    pub fn aws_with(&self, limiters: crate::Limiters) -> crate::Aws {
        crate::Aws::new(self.backends(), Arc::new(limiters))
    }
}

/// [`crate::Aws`] on these Organizations and SSM fakes, the rest fakes of their own.
pub fn aws(organizations: Arc<FakeOrganizations>, parameters: Arc<FakeParameters>) -> crate::Aws {
    Fakes {
        organizations,
        parameters,
        ..Fakes::default()
    }
    .aws()
}
