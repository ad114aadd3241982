//! Which [`Latency`] profile the lab suites run on: [`Latency::go_local`] unless
//! `LAB_LATENCY` says otherwise (`zero`, `go`, `lan:<one-way µs>`). Reproduce lines carry a
//! profile that is not the default.

use labrpc::Latency;

/// The environment variable that picks the latency profile.
pub const LATENCY_ENV: &str = "LAB_LATENCY";

/// The suites' latency: every hop 10–209 µs on top of Go's fault model.
pub const DEFAULT: Latency = Latency::go_local();

/// Reads a profile's name: `go` (the default), `zero` (a reliable RPC completes at the instant
/// it is sent: this harness before latency), `lan:<µs>` ([`Latency::lan`]).
pub fn parse(name: &str) -> Result<Latency, String> {
    match name.trim() {
        "" | "go" => Ok(DEFAULT),
        "zero" => Ok(Latency::ZERO),
        other => other
            .strip_prefix("lan:")
            .and_then(|us| us.parse().ok())
            .map(Latency::lan)
            .ok_or_else(|| format!("{LATENCY_ENV}={other}: expected go, zero or lan:<µs>")),
    }
}

/// The profile `LAB_LATENCY` names; the default if unset. Panics on a name it cannot read,
/// so that a typo never runs a campaign on the wrong network.
pub fn from_env() -> Latency {
    let name = std::env::var(LATENCY_ENV).unwrap_or_default();
    parse(&name).unwrap_or_else(|message| panic!("{message}"))
}

/// The environment a reproduce line needs for `latency`: empty for the default.
pub fn env_prefix(latency: Latency) -> String {
    if latency == DEFAULT {
        return String::new();
    }
    let name = match latency {
        Latency::ZERO => "zero".to_owned(),
        other if other == Latency::lan(other.min_us) => format!("lan:{}", other.min_us),
        other => panic!("latency {other:?} has no LAB_LATENCY name"),
    };
    format!("{LATENCY_ENV}={name} ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_reproduce_lines() {
        for name in ["zero", "lan:500"] {
            let latency = parse(name).expect("a known name");
            assert_eq!(env_prefix(latency), format!("LAB_LATENCY={name} "));
        }
        assert_eq!(parse("go"), Ok(DEFAULT));
        assert_eq!(env_prefix(DEFAULT), "");
        assert!(parse("lan:fast").is_err());
    }
}
