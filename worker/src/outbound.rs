//! HTTP to addresses customers give Beacon (audit streams, notification channels): never to
//! Beacon's own network unless the operator allows it.
//!
//! A URL an organization owner types could name `http://169.254.169.254/` (a cloud's metadata
//! service) or an internal admin port, and Beacon would make the request from inside its
//! network (server-side request forgery). So the client resolves names itself and keeps only
//! public addresses ([`is_public`]); the connection goes to an address that was checked, so a
//! name that resolves differently the second time (DNS rebinding) cannot slip through. A URL
//! that names an IP address directly is checked before sending ([`check_target`]).
//! Self-hosted installations whose receiver lives on their own network set
//! `BEACON_ALLOW_PRIVATE_OUTBOUND=true`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Whether `ip` is a public unicast address (not loopback, private, link-local, shared,
/// documentation, benchmark, multicast, broadcast or unspecified).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || first == 0x2001 && ip.segments()[1] == 0x0db8)
}

/// Why a target may not be reached, when its URL names a non-public IP address and private
/// targets are not allowed. Names are checked when they are resolved.
pub fn check_target(url: &reqwest::Url, allow_private: bool) -> Result<(), String> {
    if allow_private {
        return Ok(());
    }
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
        _ => return Ok(()),
    };
    if is_public(ip) {
        Ok(())
    } else {
        Err(private_refusal())
    }
}

fn private_refusal() -> String {
    "the receiver's address is private, loopback or link-local, which Beacon does not call \
     (set BEACON_ALLOW_PRIVATE_OUTBOUND=true on a self-hosted installation to allow it)"
        .to_owned()
}

/// Resolves with the system's resolver and keeps public addresses only.
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let public: Vec<SocketAddr> = found
                .into_iter()
                .filter(|addr| is_public(addr.ip()))
                .collect();
            if public.is_empty() {
                return Err(private_refusal().into());
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

/// The client for customer-given URLs together with its target check, so that no caller can
/// send without the check: [`Outbound::check`] refuses a URL naming a non-public address
/// (names are checked as they resolve).
#[derive(Clone)]
pub struct Outbound {
    http: reqwest::Client,
    allow_private: bool,
}

impl Outbound {
    /// A client trusting the system's roots plus the PEM certificates in `extra_roots` (a
    /// private CA in front of a SIEM; the tests' own CA), waiting at most `timeout`, reaching
    /// private addresses only when `allow_private` (`BEACON_ALLOW_PRIVATE_OUTBOUND`).
    pub fn new(
        extra_roots: Option<&Path>,
        allow_private: bool,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            http: client(extra_roots, allow_private, timeout)?,
            allow_private,
        })
    }

    /// Why `url` may not be reached, if it may not ([`check_target`]).
    pub fn check(&self, url: &reqwest::Url) -> Result<(), String> {
        check_target(url, self.allow_private)
    }

    /// Whether private targets are allowed (`BEACON_ALLOW_PRIVATE_OUTBOUND`).
    pub fn allows_private(&self) -> bool {
        self.allow_private
    }

    /// [`Outbound::check`], and for a name, that it resolves to a public address now: the
    /// clear refusal when a URL is saved (sending checks again at every connection).
    pub async fn check_resolving(&self, url: &reqwest::Url) -> Result<(), String> {
        self.check(url)?;
        let Some(url::Host::Domain(host)) = url.host() else {
            return Ok(());
        };
        if self.allow_private {
            return Ok(());
        }
        let port = url.port_or_known_default().unwrap_or(443);
        let found: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
            .await
            .map_err(|_| format!("the receiver's name {host} does not resolve"))?
            .collect();
        if found.iter().any(|addr| is_public(addr.ip())) {
            Ok(())
        } else {
            Err(private_refusal())
        }
    }

    /// The client; send only to URLs that passed [`Outbound::check`].
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }
}

/// An error in words, with its causes (TLS and connection errors hide the useful part in their
/// sources).
pub fn describe(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A client for customer-given URLs: a timeout, no redirects (a redirect could point
/// anywhere), trusting the system's roots plus the PEM certificates in `extra_roots`, and, unless
/// `allow_private`, reaching public addresses only.
fn client(
    extra_roots: Option<&Path>,
    allow_private: bool,
    timeout: Duration,
) -> anyhow::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("Beacon/", env!("CARGO_PKG_VERSION")));
    if let Some(path) = extra_roots {
        let pem = std::fs::read(path).map_err(|error| {
            anyhow::anyhow!("reading BEACON_EXTRA_CA_CERTS {}: {error}", path.display())
        })?;
        for cert in reqwest::Certificate::from_pem_bundle(&pem)? {
            builder = builder.add_root_certificate(cert);
        }
    }
    if !allow_private {
        builder = builder.dns_resolver(Arc::new(PublicOnly));
    }
    Ok(builder.build()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "192.0.2.10",
            "255.255.255.255",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "2001:db8::1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["1.1.1.1", "93.184.216.34", "2606:4700:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn literal_private_targets_are_refused_unless_allowed() {
        let url = reqwest::Url::parse("https://169.254.169.254/latest").unwrap();
        assert!(check_target(&url, false).is_err());
        assert!(check_target(&url, true).is_ok());
        let named = reqwest::Url::parse("https://siem.example/in").unwrap();
        assert!(
            check_target(&named, false).is_ok(),
            "names are checked when resolved"
        );
    }
}
