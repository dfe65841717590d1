//! DNS TXT checks: the proof that an organization controls a domain is a TXT record
//! `beacon-verification=<token>` on it. The resolver is the system's, or the server named by
//! `BEACON_DNS_SERVER` (`ip:port`; the tests run their own DNS server).

use std::net::SocketAddr;
use std::time::Duration;

use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;
use hickory_resolver::{Resolver, TokioResolver};

/// Looks up TXT records.
#[derive(Clone)]
pub struct TxtChecker {
    resolver: TokioResolver,
}

/// Time one lookup may take.
pub const TIMEOUT: Duration = Duration::from_secs(5);

impl TxtChecker {
    /// A checker asking `server` (UDP, then TCP), or the system's resolvers without one.
    pub fn new(server: Option<SocketAddr>) -> anyhow::Result<Self> {
        let mut builder = match server {
            Some(server) => {
                let mut udp = ConnectionConfig::udp();
                udp.port = server.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = server.port();
                let config = ResolverConfig::from_parts(
                    None,
                    vec![],
                    vec![NameServerConfig::new(server.ip(), true, vec![udp, tcp])],
                );
                Resolver::builder_with_config(config, TokioRuntimeProvider::default())
            }
            None => Resolver::builder_tokio()?,
        };
        builder.options_mut().timeout = TIMEOUT;
        builder.options_mut().attempts = 2;
        // A proof just published must be found at once: no answers kept between checks.
        builder.options_mut().cache_size = 0;
        Ok(Self {
            resolver: builder.build()?,
        })
    }

    /// The TXT strings published on `domain` (each record's parts joined).
    pub async fn txt(&self, domain: &str) -> Result<Vec<String>, String> {
        let name = format!("{}.", domain.trim_end_matches('.'));
        match self.resolver.txt_lookup(name).await {
            Ok(lookup) => Ok(lookup
                .answers()
                .iter()
                .filter_map(|record| match &record.data {
                    RData::TXT(txt) => Some(
                        txt.txt_data
                            .iter()
                            .map(|part| String::from_utf8_lossy(part).into_owned())
                            .collect::<String>(),
                    ),
                    _ => None,
                })
                .collect()),
            Err(error) if error.is_no_records_found() => Ok(Vec::new()),
            Err(error) => Err(format!("the DNS lookup of {domain} failed: {error}")),
        }
    }

    /// Whether `domain` publishes `expected` as a TXT record; otherwise why not, in words.
    pub async fn proves(&self, domain: &str, expected: &str) -> Result<(), String> {
        let found = self.txt(domain).await?;
        if found.iter().any(|value| value.trim() == expected) {
            return Ok(());
        }
        let seen = found
            .iter()
            .filter(|value| value.starts_with("beacon-verification="))
            .cloned()
            .collect::<Vec<_>>();
        Err(if seen.is_empty() {
            format!(
                "no TXT record \"{expected}\" on {domain} yet (DNS changes can take a while to appear)"
            )
        } else {
            format!(
                "{domain} has {} but not \"{expected}\" (a token of another claim?)",
                seen.join(", ")
            )
        })
    }
}

/// What checking a claim came to.
#[derive(Debug)]
pub enum Checked {
    /// The organization has no such claim.
    Missing,
    /// Another organization verified the domain first.
    Taken,
    /// The claim as stored after the check, and the check's outcome (`Err(why)`: not proved).
    Done(tenant::tables::org_domains::OrgDomain, Result<(), String>),
}

/// Checks `org`'s claim of `domain` against DNS now and stores the outcome in the
/// organization's scope as `actor`, recording `domain.verified` when it is newly verified. The
/// DNS lookup holds no transaction. Used by the API (on demand) and the domain job.
pub async fn check_claim(
    db: &tenant::Db,
    dns: &TxtChecker,
    actor: &tenant::Actor,
    org: tenant::OrgId,
    domain: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Checked, tenant::DbError> {
    use tenant::audit::{self, Action, Changes, Entry};
    use tenant::tables::org_domains;
    let Some(claim) = db
        .scoped(org, async |conn| {
            Ok::<_, tenant::DbError>(org_domains::find(conn, org, domain).await?)
        })
        .await?
    else {
        return Ok(Checked::Missing);
    };
    let outcome = dns.proves(domain, &claim.txt_value()).await;
    db.scoped_as(org, actor, async |conn| {
        let error = outcome.as_ref().err().map(String::as_str);
        let updated = match org_domains::record_check(conn, org, domain, now, error).await {
            Err(error) if tenant::tables::is_unique_violation(&error) => return Ok(Checked::Taken),
            other => other?,
        };
        let Some(updated) = updated else {
            return Ok(Checked::Missing);
        };
        if claim.verified_at.is_none() && updated.verified_at.is_some() {
            let entry = Entry::new(Action::DomainVerified, domain).with(Changes::default().set(
                "verified",
                serde_json::json!(false),
                serde_json::json!(true),
            ));
            audit::record(conn, org, entry).await?;
        }
        Ok(Checked::Done(updated, outcome.clone()))
    })
    .await
}
