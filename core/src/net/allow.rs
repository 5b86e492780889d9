//! Host allowlists: `127.0.0.1`, `example.org`, `*.example.org`, each with an optional
//! `:port`.

use super::{Host, Url};
use crate::error::{FsError, FsResult};
use std::fmt;

/// One allowed host pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowRule {
    /// Lower-case host (an IPv6 address without brackets); for a wildcard, the suffix after
    /// `*.`.
    host: String,
    /// `*.host`: any subdomain of `host` (not `host` itself).
    wildcard: bool,
    /// Only this port (default: any).
    port: Option<u16>,
}

impl AllowRule {
    /// Parses `host`, `*.host`, `host:port`, `[v6]:port`; a leading `scheme://` and a
    /// trailing `/` are ignored (so a page origin such as `http://127.0.0.1:8080` works).
    pub fn parse(text: &str) -> FsResult<Self> {
        let bad = |why: &str| FsError::InvalidInput(format!("allowlist entry {text:?}: {why}"));
        let mut s = text.trim();
        if let Some(i) = s.find("://") {
            s = &s[i + 3..];
        }
        let s = s.trim_end_matches('/');
        if s.is_empty() {
            return Err(bad("empty"));
        }
        if s.contains(['/', '?', '#', '@', ' ']) {
            return Err(bad("expected a host with an optional :port"));
        }
        let (wildcard, rest) = match s.strip_prefix("*.") {
            Some(r) => (true, r),
            None => (false, s),
        };
        // Let the URL parser validate and normalise the host and port.
        let url = Url::parse(&format!("http://{rest}/")).map_err(|e| bad(&e.to_string()))?;
        let host = match url.host() {
            Some(Host::Domain(d)) => d.to_ascii_lowercase(),
            Some(Host::Ipv4(a)) => a.to_string(),
            Some(Host::Ipv6(a)) if !wildcard => a.to_string(),
            _ => return Err(bad("not a host name")),
        };
        if host.contains('*') {
            return Err(bad("`*` only as a leading `*.`"));
        }
        // `Url` drops the scheme's default port: re-read an explicit `:80`.
        let port = url.port().or_else(|| {
            rest.rsplit_once(':')
                .filter(|(h, _)| !h.ends_with(':') && (h.ends_with(']') || !h.contains(':')))
                .and_then(|(_, p)| p.parse().ok())
        });
        Ok(AllowRule {
            host,
            wildcard,
            port,
        })
    }

    fn matches(&self, host: &str, port: Option<u16>) -> bool {
        if self.port.is_some() && self.port != port {
            return false;
        }
        if self.wildcard {
            host.len() > self.host.len() + 1
                && host.ends_with(&self.host)
                && host.as_bytes()[host.len() - self.host.len() - 1] == b'.'
        } else {
            host == self.host
        }
    }
}

impl fmt::Display for AllowRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.wildcard {
            f.write_str("*.")?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]", self.host)?;
        } else {
            f.write_str(&self.host)?;
        }
        if let Some(p) = self.port {
            write!(f, ":{p}")?;
        }
        Ok(())
    }
}

/// Hosts a grant may contact. Empty: nothing is allowed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowlist {
    rules: Vec<AllowRule>,
}

impl Allowlist {
    /// Parses entries; each may itself be a comma-separated list (as `--allow-net` takes).
    pub fn parse<S: AsRef<str>>(entries: impl IntoIterator<Item = S>) -> FsResult<Self> {
        let mut rules = Vec::new();
        for e in entries {
            for part in e.as_ref().split(',') {
                if !part.trim().is_empty() {
                    rules.push(AllowRule::parse(part)?);
                }
            }
        }
        Ok(Allowlist { rules })
    }

    /// The rules, in order.
    pub fn rules(&self) -> &[AllowRule] {
        &self.rules
    }

    /// Whether `url` may be contacted: its host matches a rule (and the rule's port, if any,
    /// equals the URL's port or its scheme's default).
    pub fn allows(&self, url: &Url) -> bool {
        let host = match url.host() {
            Some(Host::Domain(d)) => d.to_ascii_lowercase(),
            Some(Host::Ipv4(a)) => a.to_string(),
            Some(Host::Ipv6(a)) => a.to_string(),
            None => return false,
        };
        let port = url.port_or_known_default();
        self.rules.iter().any(|r| r.matches(&host, port))
    }

    /// `Ok` if allowed, else the `not allowed` error text for the response.
    pub(crate) fn check(&self, url: &Url) -> Result<(), String> {
        if self.allows(url) {
            Ok(())
        } else {
            Err(super::err(
                super::category::NOT_ALLOWED,
                format!(
                    "{} is outside the allowlist",
                    url.host_str().unwrap_or("(no host)")
                ),
            ))
        }
    }
}

impl fmt::Display for Allowlist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.rules.iter().map(ToString::to_string).collect();
        f.write_str(&parts.join(","))
    }
}

// Tests: core/tests/net_url.rs (natively and in Chromium, the same cases on both parsers).
