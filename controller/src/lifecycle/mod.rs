//! The account life cycle: a pure transition function ([`machine`]), the per-account
//! reconcile that executes it ([`engine`]), the work queue of accounts due ([`queue`]),
//! spa's events on the bus ([`events`]), and what wakes accounts up ([`triggers`]: queue
//! messages, the maintenance window, the sweep), and the alerts queue ([`alerts`]).

pub mod alerts;
pub mod check;
pub mod engine;
pub mod events;
pub mod machine;
pub mod member;
pub mod queue;
pub mod triggers;
