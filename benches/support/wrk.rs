//! What the load benchmarks share: one measured step, percentiles, and
//! Debian's `wrk` (one thread, in its own process) run and read.

#![allow(dead_code)]

use std::process::Command;
use std::time::{Duration, Instant};

/// One measured step: successful operations per second, latency
/// percentiles in milliseconds, failed requests.
pub struct Step {
    pub rate: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub errors: u64,
}

pub fn percentile(sorted_us: &[u64], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let i = ((sorted_us.len() as f64 - 1.0) * p).round() as usize;
    sorted_us[i] as f64 / 1000.0
}

/// Whether Debian's `wrk` is installed: a load generator in C, in its own
/// process, takes far less of the 2 cores than the built-in client does.
pub fn available() -> bool {
    Command::new("wrk").arg("-v").output().is_ok()
}

/// `wrk` with one thread, `clients` connections, for `duration`.
pub fn command(clients: usize, duration: Duration) -> Command {
    let mut cmd = Command::new("wrk");
    cmd.args([
        "-t1",
        &format!("-c{clients}"),
        &format!("-d{}s", duration.as_secs()),
        "--latency",
    ]);
    cmd
}

/// Runs `cmd` against `url` and reads its report (successes only).
pub fn run(mut cmd: Command, url: &str) -> Step {
    let out = cmd.arg(url).output().expect("wrk runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let millis = |s: &str| {
        let s = s.trim();
        let (num, factor) = if let Some(v) = s.strip_suffix("us") {
            (v, 0.001)
        } else if let Some(v) = s.strip_suffix("ms") {
            (v, 1.0)
        } else if let Some(v) = s.strip_suffix('s') {
            (v, 1000.0)
        } else {
            (s, 1.0)
        };
        num.parse::<f64>().unwrap_or(0.0) * factor
    };
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(str::to_string))
    };
    let requests: f64 = field("Requests/sec:")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0);
    let non_2xx: u64 = field("Non-2xx or 3xx responses:")
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    // "Socket errors: connect 0, read 0, write 0, timeout 16": a request
    // still unanswered after wrk's 2 s timeout is an error too (before
    // this, a step of only timeouts showed 0 req/s with 0 errors).
    let socket: u64 = field("Socket errors:")
        .map(|v| {
            v.split(',')
                .filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    let errors = non_2xx + socket;
    let total: f64 = text
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0.0);
    // Requests/sec counts failures too; report successes only.
    let ok_share = if total > 0.0 {
        (total - non_2xx as f64) / total
    } else {
        1.0
    };
    Step {
        rate: requests * ok_share,
        p50_ms: field("50%").map(|v| millis(&v)).unwrap_or(0.0),
        p99_ms: field("99%").map(|v| millis(&v)).unwrap_or(0.0),
        errors,
    }
}

/// `call` in a loop, `clients` at once, for `duration`.
pub async fn in_process<F, Fut>(clients: usize, duration: Duration, call: F) -> Step
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let deadline = Instant::now() + duration;
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let call = call.clone();
            tokio::spawn(async move {
                let (mut latencies, mut errors) = (Vec::new(), 0u64);
                while Instant::now() < deadline {
                    let t = Instant::now();
                    if !call().await {
                        errors += 1;
                    }
                    latencies.push(t.elapsed().as_micros() as u64);
                }
                (latencies, errors)
            })
        })
        .collect();
    let (mut latencies, mut errors) = (Vec::new(), 0);
    for t in tasks {
        let (l, e) = t.await.unwrap();
        latencies.extend(l);
        errors += e;
    }
    latencies.sort_unstable();
    Step {
        rate: (latencies.len() as u64 - errors) as f64 / started.elapsed().as_secs_f64(),
        p50_ms: percentile(&latencies, 0.50),
        p99_ms: percentile(&latencies, 0.99),
        errors,
    }
}
