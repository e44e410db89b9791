//! The key lifecycle, proven (contract §18): a model of everything that acts on a secret's keys
//! (Secrets Manager, the function's steps and sweep with a crash between any two calls, the
//! fleet, people, consumers, IAM reporting uses hours late, time), explored exhaustively by
//! stateright. Its decisions are the crates' own functions (`view.rs` gives them the world in
//! their types); `tests/conformance.rs` replays its traces against the real code over the fake.
//! docs/reliability.md says what it covers and what it does not.

pub mod calls;
pub mod create_secret;
pub mod effects;
pub mod fleet;
pub mod hands;
pub mod mirror;
pub mod model;
pub mod properties;
pub mod reads;
pub mod rotation;
pub mod start;
pub mod sweep;
pub mod terms;
pub mod view;
pub mod world;
pub mod worlds;

pub use model::{Action, Lifecycle, Start};
