//! The account life cycle: a pure transition function
//! ([`machine`]). The executors (CodeBuild inside each account, events) build on it.

pub mod machine;
