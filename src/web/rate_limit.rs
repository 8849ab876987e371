//! Per-client rate limits on the public endpoints (governor's GCRA), keyed
//! on the client address: the TCP peer, or the first untrusted address in
//! `X-Forwarded-For` when the peer is a configured trusted proxy. IPv6
//! clients are grouped by /64, since one host usually owns the whole /64.

use std::net::{IpAddr, Ipv6Addr};
use std::num::NonZeroU32;

use actix_web::HttpRequest;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::problem::ApiError;
use crate::config::Settings;

#[derive(Debug, Clone, Copy)]
pub enum Bucket {
    Submission,
    Lookup,
    Login,
}

pub struct RateLimits {
    submissions: Option<DefaultKeyedRateLimiter<IpAddr>>,
    lookups: Option<DefaultKeyedRateLimiter<IpAddr>>,
    logins: Option<DefaultKeyedRateLimiter<IpAddr>>,
    trusted_proxies: Vec<(IpAddr, u8)>,
    /// Refusals per bucket, for the metrics endpoint.
    refused: Option<prometheus::IntCounterVec>,
}

impl RateLimits {
    pub fn new(
        settings: &Settings,
        refused: Option<prometheus::IntCounterVec>,
    ) -> Result<Self, String> {
        let quota = |per_minute: u32, burst: u32| {
            let per_minute =
                NonZeroU32::new(per_minute).ok_or("rate limits must be at least 1 per minute")?;
            let burst = NonZeroU32::new(burst).ok_or("rate-limit bursts must be at least 1")?;
            Ok::<_, String>(RateLimiter::keyed(
                Quota::per_minute(per_minute).allow_burst(burst),
            ))
        };
        let rl = &settings.rate_limit;
        Ok(Self {
            submissions: if rl.enabled {
                Some(quota(rl.submissions_per_minute, rl.submission_burst)?)
            } else {
                None
            },
            lookups: if rl.enabled {
                Some(quota(rl.lookups_per_minute, rl.lookup_burst)?)
            } else {
                None
            },
            logins: if rl.enabled {
                Some(quota(rl.logins_per_minute, rl.login_burst)?)
            } else {
                None
            },
            trusted_proxies: settings.trusted_proxies()?,
            refused,
        })
    }

    /// Refuses with 429 and `Retry-After` when the client's bucket is empty.
    pub fn check(&self, bucket: Bucket, req: &HttpRequest) -> Result<(), ApiError> {
        let limiter = match bucket {
            Bucket::Submission => &self.submissions,
            Bucket::Lookup => &self.lookups,
            Bucket::Login => &self.logins,
        };
        let (Some(limiter), Some(ip)) = (limiter, self.client_ip(req)) else {
            return Ok(());
        };
        limiter.check_key(&rate_key(ip)).map_err(|not_until| {
            if let Some(refused) = &self.refused {
                refused
                    .with_label_values(&[match bucket {
                        Bucket::Submission => "submission",
                        Bucket::Lookup => "lookup",
                        Bucket::Login => "login",
                    }])
                    .inc();
            }
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::rate_limited(wait.as_secs() + 1)
        })
    }

    /// Drops buckets that are full again, so memory stays bounded.
    pub fn forget_idle(&self) {
        for limiter in [&self.submissions, &self.lookups, &self.logins]
            .into_iter()
            .flatten()
        {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    pub fn client_ip(&self, req: &HttpRequest) -> Option<IpAddr> {
        let peer = req.peer_addr()?.ip();
        if !self.is_trusted(peer) {
            return Some(peer);
        }
        // Walk X-Forwarded-For from the right: the first address that is
        // not one of our proxies is the client. Anything left of it was
        // written by the client and can be forged.
        let forwarded: Vec<IpAddr> = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|s| s.trim().parse().ok())
            .collect();
        Some(
            forwarded
                .into_iter()
                .rev()
                .find(|ip| !self.is_trusted(*ip))
                .unwrap_or(peer),
        )
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted_proxies
            .iter()
            .any(|(net, len)| in_network(ip, *net, *len))
    }
}

fn rate_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

fn in_network(ip: IpAddr, net: IpAddr, len: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let mask = if len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(len.min(32)))
            };
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(len.min(128)))
            };
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_and_v6_grouping() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(in_network(ip("10.1.2.3"), ip("10.0.0.0"), 8));
        assert!(!in_network(ip("11.1.2.3"), ip("10.0.0.0"), 8));
        assert!(in_network(ip("127.0.0.1"), ip("127.0.0.1"), 32));
        assert!(!in_network(ip("::1"), ip("127.0.0.1"), 32));
        assert_eq!(
            rate_key(ip("2001:db8:1:2:aaaa::1")),
            rate_key(ip("2001:db8:1:2:bbbb::9"))
        );
        assert_ne!(
            rate_key(ip("2001:db8:1:2::1")),
            rate_key(ip("2001:db8:1:3::1"))
        );
    }
}
