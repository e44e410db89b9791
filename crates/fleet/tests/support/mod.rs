//! Shared by the fleet crate's tests.

pub mod fake;
