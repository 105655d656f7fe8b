//! The spa settings format: parse, validate and resolve a settings repository.
//!
//! Pure by design: no file system, network, clock, environment, async runtime or AWS. Input
//! is file names and text (through [`FileProvider`]); output is a validated [`Settings`]
//! model plus every [`Diagnostic`] found, and effective settings with provenance.

pub mod check;
pub mod csv;
pub mod decode;
pub mod diag;
pub mod explain;
pub mod files;
pub mod json_schema;
pub mod load;
pub mod model;
pub mod policy;
pub mod resolve;
pub mod schedule;
pub mod yaml;

pub use decode::IGNORED_KEYS;
pub use diag::{Diagnostic, Severity, Sources, Span};
pub use files::{FileError, FileProvider, MAX_FILE_SIZE, MemoryFiles};
pub use load::{Loaded, load};
pub use model::{
    AccountState, Feature, Item, Level, Located, Scalar, ScalarKind, ServiceControlPolicy, Settings,
};
pub use resolve::{Effective, Origin, Resolver, Sourced};
