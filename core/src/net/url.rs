//! Absolute URLs for the network capabilities (the WHATWG URL standard).
//!
//! Parsed natively by the `url` crate and in the browser by the browser's own `URL` (so the
//! explorer's download carries no second URL parser with IDNA and Unicode normalisation
//! tables). Both parsers fill the same [`Url`], so the scheme and allowlist checks
//! ([`Allowlist`](super::Allowlist)) are one code path on every host.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The host of a [`Url`], as the URL standard classifies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// A domain (ASCII, lower-case and punycode for the special schemes) or, for other
    /// schemes, an opaque host.
    Domain(String),
    /// An IPv4 address (any of its textual forms, normalised).
    Ipv4(Ipv4Addr),
    /// An IPv6 address (written `[...]` in the URL).
    Ipv6(Ipv6Addr),
}

/// Why a string is not an absolute URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseError {}

/// A parsed absolute URL: its serialisation and the parts the capabilities check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    href: String,
    scheme: String,
    host: Option<Host>,
    host_str: Option<String>,
    port: Option<u16>,
}

impl Url {
    /// Parses an absolute URL (natively with the `url` crate, in the browser with `URL`).
    pub fn parse(input: &str) -> Result<Url, ParseError> {
        parse(input)
    }

    /// The serialisation (`href`), as sent.
    pub fn as_str(&self) -> &str {
        &self.href
    }

    /// The scheme, lower-case, without the `:`.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The host, if the URL has one.
    pub fn host(&self) -> Option<&Host> {
        self.host.as_ref()
    }

    /// The host as written in the serialisation (an IPv6 address in `[...]`).
    pub fn host_str(&self) -> Option<&str> {
        self.host_str.as_deref()
    }

    /// The port, unless it is absent or the scheme's default.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    /// The port, or the scheme's default (`http`/`ws` 80, `https`/`wss` 443, `ftp` 21).
    pub fn port_or_known_default(&self) -> Option<u16> {
        self.port.or(match self.scheme.as_str() {
            "http" | "ws" => Some(80),
            "https" | "wss" => Some(443),
            "ftp" => Some(21),
            _ => None,
        })
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.href)
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl From<&url::Url> for Url {
    fn from(u: &url::Url) -> Url {
        Url {
            href: u.as_str().to_string(),
            scheme: u.scheme().to_string(),
            host: u.host().map(|h| match h {
                url::Host::Domain(d) => Host::Domain(d.to_string()),
                url::Host::Ipv4(a) => Host::Ipv4(a),
                url::Host::Ipv6(a) => Host::Ipv6(a),
            }),
            host_str: u.host_str().map(str::to_string),
            port: u.port(),
        }
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn parse(input: &str) -> Result<Url, ParseError> {
    url::Url::parse(input)
        .map(|u| Url::from(&u))
        .map_err(|e| ParseError(e.to_string()))
}

/// The browser's `URL` gives strings only: the host's kind follows from the serialisation
/// (the URL standard writes IPv6 in brackets, and only special schemes' hosts are
/// domains or IPv4 addresses; an IPv4 address is serialised as a dotted quad, a domain
/// never is one).
#[cfg(target_arch = "wasm32")]
fn parse(input: &str) -> Result<Url, ParseError> {
    use wasm_bindgen::JsCast;
    let u = web_sys::Url::new(input).map_err(|e| {
        ParseError(
            e.dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
                .unwrap_or_else(|| "invalid URL".into()),
        )
    })?;
    let scheme = u.protocol().trim_end_matches(':').to_string();
    let special = matches!(
        scheme.as_str(),
        "http" | "https" | "ws" | "wss" | "ftp" | "file"
    );
    let hostname = u.hostname();
    // Chromium percent-encodes a space or `*` in a host where the standard refuses the URL
    // or keeps the character; `%` is never part of a special scheme's host by the standard:
    // refuse it, so no escaped host reaches the allowlist.
    if special && hostname.contains('%') {
        return Err(ParseError(format!("invalid host {hostname:?}")));
    }
    let host = if hostname.is_empty() {
        None
    } else if let Some(v6) = hostname.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(Host::Ipv6(v6.parse().map_err(|_| {
            ParseError(format!("bad IPv6 host {hostname:?}"))
        })?))
    } else {
        match hostname.parse::<Ipv4Addr>() {
            Ok(a) if special => Some(Host::Ipv4(a)),
            _ => Some(Host::Domain(hostname.clone())),
        }
    };
    let port = match u.port().as_str() {
        "" => None,
        p => Some(
            p.parse()
                .map_err(|_| ParseError(format!("bad port {p:?}")))?,
        ),
    };
    Ok(Url {
        href: u.href(),
        scheme,
        host_str: host.as_ref().map(|_| hostname),
        host,
        port,
    })
}
