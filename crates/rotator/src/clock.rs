//! The time the rotation's decisions compare AWS's dates with. The function reads the system clock;
//! the tests' fake gives its own logical time, so a test can let a day pass.

use std::time::SystemTime;

pub trait Clock: Send + Sync {
    fn now(&self) -> SystemTime;
}

/// The system's clock: what Lambda runs with.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}
