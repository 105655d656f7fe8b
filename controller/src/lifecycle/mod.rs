//! The account life cycle: a pure transition function ([`machine`]), the per-account
//! reconcile and work queue that execute it ([`engine`]), and what wakes accounts up
//! ([`triggers`]: queue messages, the maintenance window, the sweep).

pub mod check;
pub mod engine;
pub mod machine;
pub mod triggers;
