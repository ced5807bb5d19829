//! Shared pieces of the benchmark clients and driver (`cargo xtask bench`).
//!
//! Every client is a separate process started by `bench-driver`:
//! `<client> <workload> [key=value]...`. It reads the runtime to launch from `BENCH_CODEX_BIN`
//! (the real runtime or the fake app-server; the fake's scenario comes in `CODEX_FAKE_SCENARIO`,
//! the real runtime's `CODEX_HOME`/`PATH` in the inherited environment), runs one workload, and
//! prints one JSON line: a [`Report`]. `bench/python/clients.py` prints the same shape.
//!
//! Workloads (see `BENCHMARKS.md` for the full description):
//! - `w1`: `iters` cold starts (client creation + initialize until ready); a sample each.
//! - `w2`: one thread start + one turn run; one sample.
//! - `w3`: one thread, `turns` sequential turns; one sample (all turns).
//! - `w4`: one turn streamed through the public streaming API, counting agent-message deltas;
//!   one sample (turn start to completion) plus the CPU time of that span.
//! - `w5`: `threads` threads, one concurrent turn on each, every delta's delivery latency taken
//!   from its stamped send time; one sample (first turn start to last completion).
#![allow(missing_debug_implementations)]

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The environment variable naming the runtime binary a client launches.
pub const CODEX_BIN_ENV: &str = "BENCH_CODEX_BIN";

/// What one client process reports (one JSON line on stdout).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Report {
    /// Wall-time samples in nanoseconds (workload-specific, see the crate docs).
    pub samples_ns: Vec<u64>,
    /// Agent-message deltas received through the API (W4/W5).
    #[serde(default)]
    pub deltas: u64,
    /// Deltas the API dropped for a lagging consumer (ours: `TurnEvent::Lagged`).
    #[serde(default)]
    pub dropped: u64,
    /// CPU time (user + system, all threads) of the measured span, in nanoseconds (W4/W5).
    #[serde(default)]
    pub cpu_ns: u64,
    /// Peak resident set size (`VmHWM`) of the client process at exit, in KiB.
    #[serde(default)]
    pub vmhwm_kb: u64,
    /// Delivery latency percentiles in nanoseconds (W5).
    #[serde(default)]
    pub lat_p50_ns: u64,
    /// 99th percentile delivery latency.
    #[serde(default)]
    pub lat_p99_ns: u64,
    /// Largest delivery latency.
    #[serde(default)]
    pub lat_max_ns: u64,
}

/// `key=value` arguments after the workload name.
#[derive(Debug, Clone)]
pub struct Args {
    /// The workload (`w1`..`w5`).
    pub workload: String,
    kv: BTreeMap<String, String>,
}

impl Args {
    /// Parses `std::env::args()`.
    ///
    /// # Panics
    /// On a missing workload or a malformed argument.
    pub fn parse() -> Self {
        let mut args = std::env::args().skip(1);
        let workload = args
            .next()
            .expect("usage: <client> <workload> [key=value]...");
        let kv = args
            .map(|a| {
                let (k, v) = a.split_once('=').expect("arguments are key=value");
                (k.to_string(), v.to_string())
            })
            .collect();
        Self { workload, kv }
    }

    /// A numeric argument with a default.
    ///
    /// # Panics
    /// When the value is not a number.
    pub fn num(&self, key: &str, default: u64) -> u64 {
        self.kv
            .get(key)
            .map_or(default, |v| v.parse().expect("numeric argument"))
    }
}

/// The runtime binary to launch.
///
/// # Panics
/// When `BENCH_CODEX_BIN` is not set.
pub fn codex_bin() -> String {
    std::env::var(CODEX_BIN_ENV).expect("BENCH_CODEX_BIN is set by the driver")
}

/// CPU time (user + system) of this process so far, all threads, in nanoseconds.
pub fn cpu_ns() -> u64 {
    use nix::sys::resource::{getrusage, UsageWho};
    let Ok(usage) = getrusage(UsageWho::RUSAGE_SELF) else {
        return 0;
    };
    let tv = |t: nix::sys::time::TimeVal| {
        u64::try_from(t.tv_sec()).unwrap_or(0) * 1_000_000_000
            + u64::try_from(t.tv_usec()).unwrap_or(0) * 1_000
    };
    tv(usage.user_time()) + tv(usage.system_time())
}

/// Peak resident set size (`VmHWM` of `/proc/self/status`) in KiB; 0 where unavailable.
pub fn vmhwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Now, in Unix nanoseconds (the clock the fake server stamps deltas with).
pub fn unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Sub-buckets per power of two in [`Histogram`] (relative error ≤ 1/32).
const SUB: u64 = 32;
const SUB_BITS: u32 = 5;
/// Values are clamped to this (about 18 minutes in nanoseconds).
const CAP: u64 = (1 << 40) - 1;

/// A fixed-size log-linear latency histogram (1,152 counters, ≤ 3 % relative error), so
/// recording 320,000 latencies costs no memory growth. `clients.py` implements the same buckets.
#[derive(Debug, Clone)]
pub struct Histogram {
    counts: Vec<u32>,
    total: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self {
            counts: vec![0; Self::index(CAP) + 1],
            total: 0,
            max: 0,
        }
    }
}

impl Histogram {
    fn index(v: u64) -> usize {
        let v = v.min(CAP);
        if v < SUB {
            return usize::try_from(v).unwrap_or(0);
        }
        let e = 63 - v.leading_zeros(); // >= SUB_BITS
        let sub = (v >> (e - SUB_BITS)) - SUB;
        usize::try_from(SUB + u64::from(e - SUB_BITS) * SUB + sub).unwrap_or(0)
    }

    /// The midpoint of bucket `i`.
    fn value(i: usize) -> u64 {
        let i = i as u64;
        if i < SUB {
            return i;
        }
        let e = (i - SUB) / SUB + u64::from(SUB_BITS);
        let sub = (i - SUB) % SUB;
        let low = (SUB + sub) << (e - u64::from(SUB_BITS));
        let width = 1u64 << (e - u64::from(SUB_BITS));
        low + width / 2
    }

    /// Records one value.
    pub fn record(&mut self, v: u64) {
        self.counts[Self::index(v)] += 1;
        self.total += 1;
        self.max = self.max.max(v);
    }

    /// Adds another histogram's counts.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.total += other.total;
        self.max = self.max.max(other.max);
    }

    /// The value at quantile `q` (0..=1); 0 when empty.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += u64::from(*c);
            if seen >= rank {
                return Self::value(i).min(self.max);
            }
        }
        self.max
    }

    /// The largest recorded value.
    pub fn max(&self) -> u64 {
        self.max
    }

    /// Fills the latency fields of a report.
    pub fn fill(&self, report: &mut Report) {
        report.lat_p50_ns = self.quantile(0.50);
        report.lat_p99_ns = self.quantile(0.99);
        report.lat_max_ns = self.max;
    }
}

/// The latency of a stamped delta whose text is its send time in Unix nanoseconds.
pub fn stamped_latency(delta_text: &str, now_ns: u64) -> Option<u64> {
    delta_text
        .parse::<u64>()
        .ok()
        .map(|sent| now_ns.saturating_sub(sent))
}

/// Prints the report as one JSON line, filling in the peak RSS.
pub fn finish(mut report: Report) {
    report.vmhwm_kb = vmhwm_kb();
    println!(
        "{}",
        serde_json::to_string(&report).expect("report serializes")
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_quantiles_are_close() {
        let mut h = Histogram::default();
        for v in 1..=100_000u64 {
            h.record(v * 10);
        }
        let p50 = h.quantile(0.5) as f64;
        let p99 = h.quantile(0.99) as f64;
        assert!((p50 / 500_000.0 - 1.0).abs() < 0.04, "{p50}");
        assert!((p99 / 990_000.0 - 1.0).abs() < 0.04, "{p99}");
        assert_eq!(h.max(), 1_000_000);
        for v in [0u64, 1, 31, 32, 33, 1000, 1 << 39] {
            let i = Histogram::index(v);
            let mid = Histogram::value(i) as f64;
            assert!(v < 32 || (mid / v as f64 - 1.0).abs() < 0.04, "{v}");
        }
    }
}
