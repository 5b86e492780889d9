//! URLs of the network capabilities and the allowlist checks on them. Runs natively (the
//! `url` crate parses) and in headless Chromium (the browser's `URL` parses): both must give
//! the same parts, so the one allowlist code path decides the same everywhere.

use oanix_core::net::{AllowRule, Allowlist, Host, Url};
use std::net::{Ipv4Addr, Ipv6Addr};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

fn parts(
    raw: &str,
) -> (
    String,
    String,
    Option<Host>,
    Option<String>,
    Option<u16>,
    Option<u16>,
) {
    let u = Url::parse(raw).unwrap_or_else(|e| panic!("{raw:?}: {e}"));
    (
        u.as_str().to_string(),
        u.scheme().to_string(),
        u.host().cloned(),
        u.host_str().map(str::to_string),
        u.port(),
        u.port_or_known_default(),
    )
}

fn domain(d: &str) -> Option<Host> {
    Some(Host::Domain(d.into()))
}

#[test]
fn parts_of_urls() {
    let v4 = |a, b, c, d| Some(Host::Ipv4(Ipv4Addr::new(a, b, c, d)));
    let s = |x: &str| Some(x.to_string());
    assert_eq!(
        parts("http://127.0.0.1:1234/x"),
        (
            "http://127.0.0.1:1234/x".into(),
            "http".into(),
            v4(127, 0, 0, 1),
            s("127.0.0.1"),
            Some(1234),
            Some(1234)
        )
    );
    // Lower-cased host, default port dropped.
    assert_eq!(
        parts("HTTPS://EXAMPLE.org:443/a?b#c"),
        (
            "https://example.org/a?b#c".into(),
            "https".into(),
            domain("example.org"),
            s("example.org"),
            None,
            Some(443)
        )
    );
    assert_eq!(
        parts("http://[0:0::1]:9/"),
        (
            "http://[::1]:9/".into(),
            "http".into(),
            Some(Host::Ipv6(Ipv6Addr::LOCALHOST)),
            s("[::1]"),
            Some(9),
            Some(9)
        )
    );
    // IPv4 in another notation is still an address, normalised.
    assert_eq!(parts("http://0x7f.1/").2, v4(127, 0, 0, 1));
    // IDNA: the host is punycode.
    assert_eq!(
        parts("http://bücher.example/").2,
        domain("xn--bcher-kva.example")
    );
    // Userinfo is not the host.
    assert_eq!(parts("http://127.0.0.1@evil.org/").2, domain("evil.org"));
    assert_eq!(parts("wss://a.b.example.org/").5, Some(443));
    assert_eq!(parts("ws://example.org/").5, Some(80));
    assert_eq!(parts("ftp://example.org/").5, Some(21));
    // Not a special scheme: an opaque host, no known port; no host at all.
    assert_eq!(parts("foo://1.2.3.4/").2, domain("1.2.3.4"));
    assert_eq!(parts("foo://1.2.3.4/").5, None);
    assert_eq!(parts("mailto:a@b.org").2, None);
    assert_eq!(
        Url::parse("http://a.org/x").unwrap().to_string(),
        "http://a.org/x"
    );
}

#[test]
fn bad_urls_are_refused() {
    for bad in [
        "",
        "not a url",
        "/relative",
        "http://exa mple.org/",
        "http://a%20b.org/",
        "http://[::1/",
        "http://example.org:99999/",
        "http://",
    ] {
        assert!(Url::parse(bad).is_err(), "{bad:?} should be refused");
    }
}

fn allows(list: &[&str], url: &str) -> bool {
    Allowlist::parse(list)
        .unwrap()
        .allows(&Url::parse(url).unwrap())
}

#[test]
fn allowlist_hosts_wildcards_and_ports() {
    assert!(allows(&["127.0.0.1"], "http://127.0.0.1:1234/x"));
    assert!(!allows(&["127.0.0.1"], "http://127.0.0.2/"));
    assert!(!allows(&["127.0.0.1"], "http://localhost/"));
    assert!(allows(&["127.0.0.1"], "http://0x7f.1/"));
    assert!(allows(&["example.org"], "https://EXAMPLE.org/"));
    assert!(!allows(&["example.org"], "https://a.example.org/"));
    assert!(!allows(&["example.org"], "https://badexample.org/"));
    assert!(allows(&["*.example.org"], "wss://a.b.example.org/"));
    assert!(!allows(&["*.example.org"], "wss://example.org/"));
    assert!(!allows(&["*.example.org"], "wss://xexample.org/"));
    assert!(allows(&["127.0.0.1:8080"], "http://127.0.0.1:8080/"));
    assert!(!allows(&["127.0.0.1:8080"], "http://127.0.0.1:8081/"));
    assert!(allows(&["example.org:443"], "https://example.org/"));
    assert!(!allows(&["example.org:80"], "https://example.org/"));
    assert!(allows(&["example.org:80"], "http://example.org/"));
    assert!(allows(&["[::1]:9"], "http://[::1]:9/"));
    assert!(allows(&["bücher.example"], "http://xn--bcher-kva.example/"));
    assert!(allows(
        &["http://127.0.0.1:8080/"],
        "http://127.0.0.1:8080/a"
    ));
    assert!(allows(&["a.org,127.0.0.1"], "http://127.0.0.1/"));
    assert!(!allows(&[], "http://127.0.0.1/"));
    assert!(!allows(&["127.0.0.1"], "http://127.0.0.1@evil.org/"));
    assert!(!allows(&["1.2.3.4"], "mailto:a@1.2.3.4"));
}

#[test]
fn allowlist_entries_are_normalised_or_refused() {
    for bad in [
        "",
        "*",
        "a/b",
        "*.*.org",
        "exa mple.org",
        "ex*ample.org",
        "user@host",
    ] {
        assert!(AllowRule::parse(bad).is_err(), "{bad:?} should be refused");
    }
    assert_eq!(
        Allowlist::parse(["127.0.0.1:80", "*.Example.org", "[0::1]:9"])
            .unwrap()
            .to_string(),
        "127.0.0.1:80,*.example.org,[::1]:9"
    );
}
