//! Typed per-user tables (work in progress in this commit: the registry only).

/// The tables an application declares.
#[derive(Debug, Clone, Default)]
pub struct Tables {}
