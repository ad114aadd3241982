//! Virtual time.

use std::fmt;

/// Microseconds in a millisecond.
pub const MICROS_PER_MS: u64 = 1000;

/// A point in virtual time, in microseconds since the simulation began.
///
/// A newtype so that it cannot be mixed with wall-clock time. Only the event queue in
/// [`crate::Sim`] advances it. The fault model's delays are whole milliseconds (`rand % 27`
/// ms, 450 ms leader checks) and nodes set timers in milliseconds, but a message's latency
/// ([`crate::Latency`]) is tens of microseconds, so the clock counts microseconds: a message
/// can be in flight while a timer fires. Arithmetic saturates: a delay near `u64::MAX` lands
/// at the end of time instead of wrapping into the past.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(u64);

impl SimTime {
    /// The start of every simulation.
    pub const ZERO: SimTime = SimTime(0);

    /// From microseconds since the start.
    pub const fn from_micros(us: u64) -> SimTime {
        SimTime(us)
    }

    /// From milliseconds since the start (saturating).
    pub const fn from_millis(ms: u64) -> SimTime {
        SimTime(ms.saturating_mul(MICROS_PER_MS))
    }

    /// Microseconds since the start.
    pub const fn as_micros(self) -> u64 {
        self.0
    }

    /// Whole milliseconds since the start (rounded down).
    pub const fn as_millis(self) -> u64 {
        self.0 / MICROS_PER_MS
    }

    /// Microseconds from `earlier` to `self`; panics if `earlier` is later.
    pub fn micros_since(self, earlier: SimTime) -> u64 {
        self.0
            .checked_sub(earlier.0)
            .expect("virtual time went backwards")
    }

    /// Whole milliseconds from `earlier` to `self` (rounded down); panics if `earlier` is
    /// later.
    pub fn millis_since(self, earlier: SimTime) -> u64 {
        self.micros_since(earlier) / MICROS_PER_MS
    }

    /// `self + delay_us`, saturating.
    pub const fn plus_micros(self, delay_us: u64) -> SimTime {
        SimTime(self.0.saturating_add(delay_us))
    }

    /// `self + delay_ms`, saturating.
    pub const fn plus_millis(self, delay_ms: u64) -> SimTime {
        SimTime(
            self.0
                .saturating_add(delay_ms.saturating_mul(MICROS_PER_MS)),
        )
    }
}

impl fmt::Display for SimTime {
    /// Seconds with microsecond precision, e.g. `12.345067s`: the first three decimals are the
    /// milliseconds of the Go fault model and the nodes' timers, the last three the latency.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:06}s", self.0 / 1_000_000, self.0 % 1_000_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_seconds_to_the_microsecond() {
        assert_eq!(SimTime::from_millis(1547).to_string(), "1.547000s");
        assert_eq!(SimTime::from_micros(1_547_067).to_string(), "1.547067s");
        assert_eq!(SimTime::from_micros(12).to_string(), "0.000012s");
    }

    #[test]
    fn arithmetic_saturates_and_rounds_down() {
        let end = SimTime::from_millis(u64::MAX);
        assert_eq!(end, SimTime::from_micros(u64::MAX));
        assert_eq!(SimTime::from_millis(5).plus_millis(u64::MAX), end);
        assert_eq!(SimTime::from_micros(1999).as_millis(), 1);
        let later = SimTime::from_micros(2_500);
        assert_eq!(later.millis_since(SimTime::from_micros(1_600)), 0);
        assert_eq!(later.micros_since(SimTime::from_micros(1_600)), 900);
    }
}
