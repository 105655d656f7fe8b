//! spa-controller: the `spa` binary and the engine behind it.
//!
//! Modules follow the data: `source` (Git) → schema (validate, resolve) → `desired`, and
//! `observe` (AWS, through `aws`) → `plan` → `render` / `apply`; `cli` holds one file per
//! subcommand. See ARCHITECTURE.md.

pub mod apply;
/// The one door to AWS (crate `spa-aws`).
pub use spa_aws as aws;
pub mod cli;
pub mod costs;
pub mod deploy;
pub mod desired;
pub mod lifecycle;
pub mod monitoring;
pub mod notify;
pub mod observe;
pub mod outbound;
pub mod plan;
pub mod records;
pub mod render;
pub mod reports;
pub mod runtime;
pub mod source;
pub mod time;
