//! Enrichment: device from the user agent (woothee's maintained rules), bot filtering, UTM
//! parameters, the referrer's host, and the salted visitor id. The IP address and the user
//! agent string are used here and never leave this module.

use std::net::IpAddr;
use std::time::Duration;

use crate::cache::BoundedCache;

use siphasher::sip::SipHasher13;
use url::Url;

/// Substrings of user agents that automated browsers and scripts send, beyond woothee's
/// crawler list.
const AUTOMATION_MARKERS: &[&str] = &[
    "headlesschrome",
    "phantomjs",
    "lighthouse",
    "puppeteer",
    "playwright",
    "selenium",
    "webdriver",
    "bot",
    "spider",
    "crawl",
    "curl/",
    "wget/",
    "python-requests",
    "python-urllib",
    "go-http-client",
    "okhttp",
    "java/",
    "node-fetch",
    "axios/",
];

/// Browser, OS and device class of a human visitor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Device {
    /// Browser family.
    pub browser: Option<String>,
    /// Browser version.
    pub browser_version: Option<String>,
    /// Operating system.
    pub os: Option<String>,
    /// OS version.
    pub os_version: Option<String>,
    /// `desktop`, `mobile` or `tablet`.
    pub device: Option<String>,
}

/// What a user agent says about its sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Agent {
    /// A crawler, script or headless browser: not counted.
    Bot,
    /// A person's browser.
    Human(Device),
}

fn known(value: &str) -> Option<String> {
    (!value.is_empty() && value != woothee::woothee::VALUE_UNKNOWN).then(|| value.to_owned())
}

/// Classifies a user agent.
pub fn classify(user_agent: &str) -> Agent {
    let lower = user_agent.to_ascii_lowercase();
    if user_agent.trim().is_empty()
        || AUTOMATION_MARKERS
            .iter()
            .any(|marker| lower.contains(marker))
    {
        return Agent::Bot;
    }
    let Some(parsed) = woothee::parser::Parser::new().parse(user_agent) else {
        return Agent::Human(Device::default());
    };
    let device = match parsed.category {
        "crawler" => return Agent::Bot,
        "smartphone" | "mobilephone" if lower.contains("ipad") || lower.contains("tablet") => {
            "tablet"
        }
        "smartphone" | "mobilephone" => "mobile",
        "pc" if lower.contains("ipad") => "tablet",
        "pc" => "desktop",
        _ => "other",
    };
    Agent::Human(Device {
        browser: known(parsed.name),
        browser_version: known(parsed.version),
        os: known(parsed.os),
        os_version: known(&parsed.os_version),
        device: Some(device.to_owned()),
    })
}

/// A bounded memo of [`classify`]: real traffic repeats a few thousand user agents, and a
/// flood of made-up ones cannot hold more than [`AGENT_CACHE_BYTES`].
pub struct AgentCache {
    seen: BoundedCache<String, Agent>,
}

/// Bytes the memo may hold.
const AGENT_CACHE_BYTES: u64 = 8 * 1024 * 1024;
/// How long an answer is kept (the parser does not change while Beacon runs).
const AGENT_TTL: Duration = Duration::from_secs(3600);

impl Default for AgentCache {
    fn default() -> Self {
        Self {
            // The device strings are short names ("Chrome", "Windows"): 64 bytes cover them.
            seen: BoundedCache::new(AGENT_CACHE_BYTES, |user_agent, _| user_agent.len() + 64),
        }
    }
}

impl AgentCache {
    /// Classifies `user_agent`, remembering the answer.
    pub fn classify(&self, user_agent: &str) -> Agent {
        if let Some(agent) = self.seen.get(user_agent) {
            return agent;
        }
        let agent = classify(user_agent);
        self.seen
            .insert(user_agent.to_owned(), agent.clone(), AGENT_TTL);
        agent
    }
}

/// Campaign parameters of a page URL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Utm {
    /// `utm_source` (or `ref`, `source`).
    pub source: Option<String>,
    /// `utm_medium`.
    pub medium: Option<String>,
    /// `utm_campaign`.
    pub campaign: Option<String>,
    /// `utm_content`.
    pub content: Option<String>,
    /// `utm_term`.
    pub term: Option<String>,
}

/// Reads the UTM parameters of `url` (values cut to 300 characters).
pub fn utm(url: &Url) -> Utm {
    let mut utm = Utm::default();
    for (key, value) in url.query_pairs() {
        let value: String = value.chars().take(300).collect();
        if value.is_empty() || value.contains('\0') {
            continue;
        }
        let slot = match key.as_ref() {
            "utm_source" => &mut utm.source,
            "ref" | "source" if utm.source.is_none() => &mut utm.source,
            "utm_medium" => &mut utm.medium,
            "utm_campaign" => &mut utm.campaign,
            "utm_content" => &mut utm.content,
            "utm_term" => &mut utm.term,
            _ => continue,
        };
        *slot = Some(value);
    }
    utm
}

/// Host of the referrer, unless it is the page's own host (a click within the site).
pub fn referrer_host(referrer: Option<&str>, page_host: &str) -> Option<String> {
    let host = Url::parse(referrer?).ok()?.host_str()?.to_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host).to_owned();
    let page = page_host.strip_prefix("www.").unwrap_or(page_host);
    (host != page).then_some(host)
}

/// The visitor id: SipHash-1-3 keyed with the project's current 16-byte salt over the project,
/// the IP address and the user agent. Without the salt (deleted 48 hours after rotation) it
/// cannot be recomputed or reversed.
pub fn visitor_id(salt: &[u8; 16], project_id: uuid::Uuid, ip: IpAddr, user_agent: &str) -> i64 {
    let mut input = Vec::with_capacity(16 + 16 + user_agent.len() + 2);
    input.extend_from_slice(project_id.as_bytes());
    match ip {
        IpAddr::V4(v4) => input.extend_from_slice(&v4.to_ipv6_mapped().octets()),
        IpAddr::V6(v6) => input.extend_from_slice(&v6.octets()),
    }
    input.extend_from_slice(user_agent.as_bytes());
    i64::from_ne_bytes(SipHasher13::new_with_key(salt).hash(&input).to_ne_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIREFOX: &str =
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
    const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

    #[test]
    fn classifies_browsers_and_bots() {
        let Agent::Human(desktop) = classify(FIREFOX) else {
            panic!("bot?")
        };
        assert_eq!(desktop.browser.as_deref(), Some("Firefox"));
        assert_eq!(desktop.device.as_deref(), Some("desktop"));
        let Agent::Human(phone) = classify(IPHONE) else {
            panic!("bot?")
        };
        assert_eq!(phone.device.as_deref(), Some("mobile"));
        for bot in [
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
            "curl/8.5.0",
            "",
        ] {
            assert_eq!(classify(bot), Agent::Bot, "{bot}");
        }
    }

    #[test]
    fn reads_utm_and_referrer() {
        let url =
            Url::parse("https://a.example/p?utm_source=news&utm_medium=email&utm_campaign=nov&x=1")
                .unwrap();
        let utm = utm(&url);
        assert_eq!(utm.source.as_deref(), Some("news"));
        assert_eq!(utm.medium.as_deref(), Some("email"));
        assert_eq!(utm.campaign.as_deref(), Some("nov"));
        assert_eq!(
            referrer_host(Some("https://www.google.com/search?q=x"), "a.example").as_deref(),
            Some("google.com")
        );
        assert_eq!(
            referrer_host(Some("https://a.example/other"), "a.example"),
            None
        );
        assert_eq!(referrer_host(Some("not a url"), "a.example"), None);
    }

    #[test]
    fn visitor_ids_depend_on_salt_ip_and_agent() {
        let project = uuid::Uuid::new_v4();
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        let a = visitor_id(&[1; 16], project, ip, FIREFOX);
        assert_eq!(a, visitor_id(&[1; 16], project, ip, FIREFOX));
        assert_ne!(a, visitor_id(&[2; 16], project, ip, FIREFOX));
        assert_ne!(
            a,
            visitor_id(&[1; 16], project, "203.0.113.8".parse().unwrap(), FIREFOX)
        );
        assert_ne!(a, visitor_id(&[1; 16], project, ip, IPHONE));
        assert_ne!(a, visitor_id(&[1; 16], uuid::Uuid::new_v4(), ip, FIREFOX));
    }
}
