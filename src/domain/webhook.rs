//! Webhooks: which events a change to an item raises, who may receive them,
//! where a delivery may go, and how a delivery is signed. Pure rules; the
//! store writes the events and the services deliver them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;

/// What happened to an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookEvent {
    /// The item moved from one state to another.
    StateChanged,
    /// The answer went to the submitter.
    Answered,
    /// The item appeared on the public Q&A.
    Published,
    /// The item was taken off the public Q&A.
    Unpublished,
}

impl WebhookEvent {
    pub const ALL: [WebhookEvent; 4] = [
        WebhookEvent::StateChanged,
        WebhookEvent::Answered,
        WebhookEvent::Published,
        WebhookEvent::Unpublished,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::StateChanged => "item.state_changed",
            WebhookEvent::Answered => "item.answered",
            WebhookEvent::Published => "item.published",
            WebhookEvent::Unpublished => "item.unpublished",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            WebhookEvent::StateChanged => "Phản ánh chuyển trạng thái",
            WebhookEvent::Answered => "Phản ánh đã được trả lời",
            WebhookEvent::Published => "Phản ánh được công khai",
            WebhookEvent::Unpublished => "Phản ánh thôi công khai",
        }
    }
}

/// Whose data a subscription receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookScope {
    /// The public Q&A's projection of published items, nothing else.
    Public,
    /// One agency's own items (no contact data), for a key holding the
    /// `agency_webhooks` scope.
    Agency,
}

impl WebhookScope {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookScope::Public => "public",
            WebhookScope::Agency => "agency",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "public" => Some(WebhookScope::Public),
            "agency" => Some(WebhookScope::Agency),
            _ => None,
        }
    }
}

/// The states in which an item has been answered.
const ANSWERED_STATES: [&str; 4] = ["answered", "published", "withheld", "closed"];

/// The events one audited change to an item raises, in the order a
/// receiver should see them: the state change, then the answer, then the
/// publication.
pub fn events_of(
    action: &str,
    from_state: Option<&str>,
    to_state: Option<&str>,
) -> Vec<WebhookEvent> {
    let mut out = Vec::new();
    let (Some(from), Some(to)) = (from_state, to_state) else {
        return out;
    };
    if from != to {
        out.push(WebhookEvent::StateChanged);
    }
    let unpublish = action == "feedback.unpublish";
    if !unpublish
        && !ANSWERED_STATES.contains(&from)
        && ANSWERED_STATES.contains(&to)
        && to != "closed"
    {
        out.push(WebhookEvent::Answered);
    }
    if action == "feedback.publish" || (to == "published" && from != "published") {
        out.push(WebhookEvent::Published);
    }
    if unpublish {
        out.push(WebhookEvent::Unpublished);
    }
    out
}

/// Whether a public subscription hears of `event` on an item that is
/// (`public`) or is not on the public Q&A after the change.
pub fn public_may_hear(event: WebhookEvent, public_after: bool) -> bool {
    match event {
        WebhookEvent::Unpublished => true,
        _ => public_after,
    }
}

/// Whether a delivery may be made to `ip`: never to this machine, a
/// private or shared network, a link-local address (cloud metadata
/// services live there) or anything not routable, unless the operator
/// allowed private targets.
pub fn target_allowed(ip: IpAddr, allow_private: bool) -> bool {
    if allow_private {
        return !ip.is_unspecified() && !ip.is_multicast();
    }
    match ip {
        IpAddr::V4(v4) => v4_public(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4_public(v4),
            None => v6_public(v6),
        },
    }
}

fn v4_public(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        // Shared address space (carrier-grade NAT), RFC 6598.
        || (a == 100 && (64..128).contains(&b))
        // IETF protocol assignments, RFC 6890.
        || (a == 192 && b == 0 && c == 0)
        // Benchmarking, RFC 2544.
        || (a == 198 && (18..20).contains(&b))
        // Reserved, RFC 1112.
        || a >= 240)
}

fn v6_public(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        // Unique local fc00::/7.
        || (first & 0xfe00) == 0xfc00
        // Link-local fe80::/10.
        || (first & 0xffc0) == 0xfe80
        // Documentation 2001:db8::/32.
        || (first == 0x2001 && ip.segments()[1] == 0x0db8)
        // IPv4-compatible and NAT64 well-known prefixes.
        || ip.segments()[..6].iter().all(|s| *s == 0)
        || (first == 0x0064 && ip.segments()[1] == 0xff9b))
}

/// The signature a receiver checks: HMAC-SHA256 under the subscription's
/// secret over the timestamp, a full stop and the body, as lower-case hex
/// after `v1=` (the `Pakn-Signature` header).
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", super::digest::hex(&mac.finalize().into_bytes()))
}

/// How long to wait before attempt `attempts + 1` after `attempts` failed
/// ones: doubling from `base`, at most six hours.
pub fn backoff_seconds(base: u64, attempts: u32) -> u64 {
    base.max(1)
        .saturating_mul(1u64 << attempts.saturating_sub(1).min(20))
        .min(6 * 3600)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transition_raises_its_events_in_order() {
        use WebhookEvent::*;
        assert_eq!(
            events_of("feedback.classify", Some("received"), Some("classified")),
            vec![StateChanged]
        );
        assert_eq!(
            events_of(
                "feedback.approve_answer",
                Some("answer_under_review"),
                Some("answered")
            ),
            vec![StateChanged, Answered]
        );
        assert_eq!(
            events_of(
                "feedback.approve_answer",
                Some("answer_under_review"),
                Some("published")
            ),
            vec![StateChanged, Answered, Published]
        );
        assert_eq!(
            events_of("feedback.publish", Some("answered"), Some("published")),
            vec![StateChanged, Published]
        );
        assert_eq!(
            events_of("feedback.unpublish", Some("published"), Some("answered")),
            vec![StateChanged, Unpublished]
        );
        // A closed item taken off the Q&A stays closed.
        assert_eq!(
            events_of("feedback.unpublish", Some("closed"), Some("closed")),
            vec![Unpublished]
        );
        assert_eq!(
            events_of("feedback.received", None, Some("received")),
            vec![]
        );
        assert_eq!(events_of("note.added", None, None), vec![]);
        // Closing an answered item is not a second answer.
        assert_eq!(
            events_of("feedback.close", Some("answered"), Some("closed")),
            vec![StateChanged]
        );
    }

    #[test]
    fn the_public_hears_only_of_public_items_and_withdrawals() {
        assert!(public_may_hear(WebhookEvent::Published, true));
        assert!(!public_may_hear(WebhookEvent::StateChanged, false));
        assert!(!public_may_hear(WebhookEvent::Answered, false));
        assert!(public_may_hear(WebhookEvent::Unpublished, false));
    }

    #[test]
    fn private_and_link_local_targets_are_refused() {
        for refused in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "2001:db8::1",
        ] {
            let ip: IpAddr = refused.parse().expect("address");
            assert!(!target_allowed(ip, false), "{refused}");
        }
        for allowed in ["203.119.8.10", "8.8.8.8", "2402:800::1"] {
            let ip: IpAddr = allowed.parse().expect("address");
            assert!(target_allowed(ip, false), "{allowed}");
        }
        let loopback: IpAddr = "127.0.0.1".parse().expect("address");
        assert!(target_allowed(loopback, true));
        let any: IpAddr = "0.0.0.0".parse().expect("address");
        assert!(!target_allowed(any, true));
    }

    #[test]
    fn the_signature_is_hmac_sha256_over_timestamp_and_body() {
        // Computed independently with Python's hmac module:
        // hmac.new(b"whsec_test", b"1700000000.{}", hashlib.sha256).hexdigest()
        assert_eq!(
            signature("whsec_test", 1_700_000_000, b"{}"),
            "v1=35495024f4ef3f94e5a93e22221544c4b75e9a42300cd965ab81cb85cd994e91"
        );
        let a = signature("s", 1, b"body");
        assert_eq!(a.len(), 3 + 64);
        assert_ne!(a, signature("s", 2, b"body"));
        assert_ne!(a, signature("t", 1, b"body"));
        assert_ne!(a, signature("s", 1, b"bodY"));
    }

    #[test]
    fn back_off_doubles_to_six_hours() {
        assert_eq!(backoff_seconds(30, 1), 30);
        assert_eq!(backoff_seconds(30, 2), 60);
        assert_eq!(backoff_seconds(30, 5), 480);
        assert_eq!(backoff_seconds(30, 40), 6 * 3600);
        assert_eq!(backoff_seconds(0, 1), 1);
    }
}
