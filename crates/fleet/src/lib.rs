//! The fleet command (`iam-key-fleet`): the operator's side of rotation. It finds every secret
//! that holds AWS access keys (`scan`), turns rotation on (`enable`), rotates now (`rotate`) and
//! repairs half-done rotations (`unstick`). The binary (`src/main.rs`) only parses
//! the command line; the work is here, over the same AWS APIs the function uses.
//!
//! Like the function, it never prints or logs secret material: a value is read only to classify
//! it, and only key ids (which are not secret) leave `classify`.

pub mod aws;
pub mod bind;
pub mod claims;
pub mod classify;
pub mod commands;
pub mod duplicate_keys;
pub mod enable;
pub mod estate;
mod key_report;
pub mod mirrors;
mod observe;
pub mod outcome;
pub mod output;
pub mod report;
pub mod rotate;
pub mod scan;
pub mod schedule;
pub mod sdk;
pub mod sdk_estate;
mod sdk_layout;
pub mod select;
pub mod split;
mod split_make;
mod split_plan;
pub mod time;
mod uncovered;
pub mod unstick;
pub mod values;
pub mod verdict;
