//! Virtual time.

use std::fmt;
use std::ops::Add;

/// A point in virtual time, in milliseconds since the simulation began.
///
/// A newtype so that it cannot be mixed with wall-clock time. Only the event queue in
/// [`crate::Sim`] advances it. Milliseconds are the unit of every delay in the 6.824 harness
/// (`rand % 27` ms, 450 ms leader checks), so nothing finer is needed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(u64);

impl SimTime {
    /// The start of every simulation.
    pub const ZERO: SimTime = SimTime(0);

    /// From milliseconds since the start.
    pub const fn from_millis(ms: u64) -> SimTime {
        SimTime(ms)
    }

    /// Milliseconds since the start.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// Milliseconds from `earlier` to `self`; panics if `earlier` is later.
    pub fn millis_since(self, earlier: SimTime) -> u64 {
        self.0
            .checked_sub(earlier.0)
            .expect("virtual time went backwards")
    }
}

impl Add<u64> for SimTime {
    type Output = SimTime;
    /// `self + delay_ms`, saturating at the end of time: a node may ask for any delay
    /// (`set_timer(u64::MAX)` for "never"), and such an event must stay in the future instead
    /// of wrapping into the past. Runs end long before (the tester's virtual-time limit).
    fn add(self, delay_ms: u64) -> SimTime {
        SimTime(self.0.saturating_add(delay_ms))
    }
}

impl fmt::Display for SimTime {
    /// Seconds with millisecond precision, e.g. `12.345s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03}s", self.0 / 1000, self.0 % 1000)
    }
}
