//! WSGITrustedProxyHeaders / WSGITrustedProxies applied to one request, as mod_wsgi applies them: from a
//! trusted peer (any peer when WSGITrustedProxies is not set) each listed header present rewrites its variable;
//! every other header of a listed header's category is removed, so that a client cannot spoof the synonym the
//! proxy does not set; from an untrusted peer every header of a listed category is removed. Pure: the caller
//! passes a lookup over the request's CGI variables and applies the result.
#![deny(unsafe_code)]

use crate::config::proxy::{Apply, Category, PROXY_HEADERS, ProxyHeader, ProxyNet, is_trusted};

/// What the proxy headers change in the environ.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rewrite {
    /// Variables to set (replacing the request's own).
    pub set: Vec<(&'static [u8], Vec<u8>)>,
    /// Header variables to remove.
    pub remove: Vec<&'static [u8]>,
    /// The scheme a trusted scheme header decided (true: https), replacing httpd's view of its own connection.
    pub https: Option<bool>,
}

impl Rewrite {
    /// Whether `key` is replaced or removed (the caller skips the request's own value).
    pub fn drops(&self, key: &[u8]) -> bool {
        self.remove.contains(&key) || self.set.iter().any(|(k, _)| *k == key)
    }

    fn put(&mut self, key: &'static [u8], value: Vec<u8>) {
        self.set.retain(|(k, _)| *k != key);
        self.set.push((key, value));
    }

    /// The new SCRIPT_NAME, if a trusted header set one.
    pub fn script_name(&self) -> Option<&[u8]> {
        self.set
            .iter()
            .find(|(k, _)| *k == b"SCRIPT_NAME")
            .map(|(_, v)| v.as_slice())
    }
}

/// `get` looks up one CGI variable of the request (REMOTE_ADDR, HTTPS, HTTP_*).
pub fn rewrite<'a>(
    headers: &[ProxyHeader],
    proxies: Option<&[ProxyNet]>,
    get: impl Fn(&[u8]) -> Option<&'a [u8]>,
) -> Rewrite {
    let mut out = Rewrite::default();
    if headers.is_empty() {
        return out;
    }
    let trusted_peer = match proxies {
        None => true,
        Some(nets) => get(b"REMOTE_ADDR").and_then(|ip| is_trusted(nets, ip)).unwrap_or(false),
    };
    let mut https = get(b"HTTPS").map(|v| v.eq_ignore_ascii_case(b"on") || v == b"1");
    let mut winners: Vec<(Category, &'static str)> = Vec::new();
    for h in headers {
        if !trusted_peer {
            continue;
        }
        let Some(value) = get(h.env.as_bytes()) else {
            continue;
        };
        match (h.apply, h.category) {
            (Apply::ForwardedFor, _) => forwarded_for(&mut out, proxies, value),
            (Apply::SchemeName, _) => {
                if value.eq_ignore_ascii_case(b"https") {
                    https = Some(true);
                } else if value.eq_ignore_ascii_case(b"http") {
                    https = Some(false);
                }
            }
            (Apply::SchemeFlag, _) => {
                if [&b"on"[..], b"true", b"1"]
                    .iter()
                    .any(|t| value.eq_ignore_ascii_case(t))
                {
                    https = Some(true);
                } else if [&b"off"[..], b"false", b"0"]
                    .iter()
                    .any(|t| value.eq_ignore_ascii_case(t))
                {
                    https = Some(false);
                }
            }
            (Apply::Verbatim, c) => {
                let key: &'static [u8] = match c {
                    Category::Client => b"REMOTE_ADDR",
                    Category::Host => b"HTTP_HOST",
                    Category::Server => b"SERVER_NAME",
                    Category::Port => b"SERVER_PORT",
                    Category::ScriptName => b"SCRIPT_NAME",
                    Category::Scheme => continue,
                };
                out.put(key, value.to_vec());
            }
        }
        winners.retain(|(c, _)| *c != h.category);
        winners.push((h.category, h.env));
    }
    if winners.iter().any(|(c, _)| *c == Category::Scheme) {
        out.https = Some(https.unwrap_or(false));
    }
    // Every synonym of a listed category goes, except the header that was applied.
    for p in PROXY_HEADERS {
        let listed = headers.iter().any(|h| h.category == p.category);
        let won = winners.iter().any(|(_, env)| *env == p.env);
        if listed && !won && get(p.env.as_bytes()).is_some() {
            out.remove.push(p.env.as_bytes());
        }
    }
    // A removed header is removed with any value the walk wrote for it.
    let removed = std::mem::take(&mut out.remove);
    out.set.retain(|(k, _)| !removed.contains(k));
    out.remove = removed;
    out
}

/// X-Forwarded-For: without WSGITrustedProxies the leftmost entry is the client; with it, the chain is walked
/// from the right over trusted proxies, and the entry before the leftmost trusted one is the client (the list is
/// rewritten to start there); when the rightmost entry is not trusted, it is the client. Empty entries are
/// ignored (RFC 9110 section 5.6.1).
fn forwarded_for(out: &mut Rewrite, proxies: Option<&[ProxyNet]>, value: &[u8]) {
    let items: Vec<&[u8]> = value
        .split(|&b| b == b',')
        .map(|s| s.trim_ascii())
        .filter(|s| !s.is_empty())
        .collect();
    let Some(nets) = proxies else {
        if let Some(first) = items.first() {
            out.put(b"REMOTE_ADDR", first.to_vec());
        }
        return;
    };
    if items.is_empty() {
        return;
    }
    let mut first = None;
    for (i, ip) in items.iter().enumerate().rev() {
        if is_trusted(nets, ip) != Some(true) {
            break;
        }
        first = Some(i);
    }
    let client = match first {
        Some(i) => i.saturating_sub(1),
        None => items.len() - 1,
    };
    out.put(b"REMOTE_ADDR", items[client].to_vec());
    let chain = if first.is_some() {
        &items[client..]
    } else {
        &items[client..=client]
    };
    out.put(b"HTTP_X_FORWARDED_FOR", chain.join(&b", "[..]));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::proxy::parse_headers;

    fn run(listed: &str, proxies: Option<&str>, vars: &[(&str, &str)]) -> Rewrite {
        let args: Vec<String> = listed.split_whitespace().map(String::from).collect();
        let (headers, _) = parse_headers(&args).unwrap();
        let nets: Option<Vec<ProxyNet>> =
            proxies.map(|p| p.split_whitespace().map(|n| ProxyNet::parse(n).unwrap()).collect());
        rewrite(&headers, nets.as_deref(), |k| {
            vars.iter().find(|(n, _)| n.as_bytes() == k).map(|(_, v)| v.as_bytes())
        })
    }

    fn value<'a>(r: &'a Rewrite, k: &str) -> Option<&'a str> {
        r.set
            .iter()
            .find(|(n, _)| *n == k.as_bytes())
            .map(|(_, v)| std::str::from_utf8(v).unwrap())
    }

    const PEER: (&str, &str) = ("REMOTE_ADDR", "127.0.0.1");

    #[test]
    fn leftmost_entry_without_a_proxy_list() {
        for xff in [
            "203.0.113.5, 10.0.0.1",
            ", 203.0.113.5",
            " , , 203.0.113.5, 198.51.100.1",
            "203.0.113.5,",
        ] {
            let r = run("X-Forwarded-For", None, &[PEER, ("HTTP_X_FORWARDED_FOR", xff)]);
            assert_eq!(value(&r, "REMOTE_ADDR"), Some("203.0.113.5"), "{xff}");
            // The list itself is left as sent.
            assert!(!r.drops(b"HTTP_X_FORWARDED_FOR"), "{xff}");
        }
        let r = run("X-Forwarded-For", None, &[PEER, ("HTTP_X_FORWARDED_FOR", " , ")]);
        assert_eq!(value(&r, "REMOTE_ADDR"), None);
    }

    #[test]
    fn chain_walk_with_a_proxy_list() {
        let cases = [
            ("203.0.113.5, 127.0.0.1", "203.0.113.5", "203.0.113.5, 127.0.0.1"),
            ("127.0.0.1, 127.0.0.1", "127.0.0.1", "127.0.0.1, 127.0.0.1"),
            ("198.51.100.9, 203.0.113.5", "203.0.113.5", "203.0.113.5"),
            ("203.0.113.5, , 127.0.0.1", "203.0.113.5", "203.0.113.5, 127.0.0.1"),
            ("203.0.113.5,,127.0.0.1", "203.0.113.5", "203.0.113.5, 127.0.0.1"),
            ("203.0.113.5, 127.0.0.1,", "203.0.113.5", "203.0.113.5, 127.0.0.1"),
            (", 203.0.113.5, 127.0.0.1", "203.0.113.5", "203.0.113.5, 127.0.0.1"),
            (
                "9.9.9.9, 203.0.113.5,  ,  , 10.1.2.3, 127.0.0.1",
                "203.0.113.5",
                "203.0.113.5, 10.1.2.3, 127.0.0.1",
            ),
            // Not an address: the walk stops there.
            ("203.0.113.5, bogus, 127.0.0.1", "bogus", "bogus, 127.0.0.1"),
        ];
        for (xff, client, chain) in cases {
            let r = run(
                "X-Forwarded-For",
                Some("127.0.0.1 10.0.0.0/8"),
                &[PEER, ("HTTP_X_FORWARDED_FOR", xff)],
            );
            assert_eq!(value(&r, "REMOTE_ADDR"), Some(client), "{xff}");
            assert_eq!(value(&r, "HTTP_X_FORWARDED_FOR"), Some(chain), "{xff}");
        }
    }

    #[test]
    fn each_header_rewrites_its_variable() {
        let all =
            "X-Forwarded-For X-Forwarded-Host X-Forwarded-Server X-Forwarded-Port X-Script-Name X-Forwarded-Proto";
        let r = run(
            all,
            Some("127.0.0.1"),
            &[
                PEER,
                ("HTTP_X_FORWARDED_HOST", "real.example.com"),
                ("HTTP_X_FORWARDED_SERVER", "srv.example.com"),
                ("HTTP_X_FORWARDED_PORT", "8443"),
                ("HTTP_X_SCRIPT_NAME", "/mounted"),
                ("HTTP_X_FORWARDED_PROTO", "https"),
            ],
        );
        assert_eq!(value(&r, "HTTP_HOST"), Some("real.example.com"));
        assert_eq!(value(&r, "SERVER_NAME"), Some("srv.example.com"));
        assert_eq!(value(&r, "SERVER_PORT"), Some("8443"));
        assert_eq!(r.script_name(), Some(&b"/mounted"[..]));
        assert_eq!(r.https, Some(true));
        assert!(r.remove.is_empty(), "{:?}", r.remove);
        for (h, v) in [
            ("X-Client-IP", "1.2.3.4"),
            ("X-Real-IP", "1.2.3.4"),
            ("X-Host", "h.example"),
        ] {
            let env = crate::config::proxy::env_name(h);
            let r = run(h, None, &[PEER, (env.as_str(), v)]);
            assert_eq!(r.set.len(), 1, "{h}");
            assert_eq!(
                value(&r, if h == "X-Host" { "HTTP_HOST" } else { "REMOTE_ADDR" }),
                Some(v)
            );
        }
    }

    #[test]
    fn scheme_headers() {
        let flag = |h: &str, v: &str, tls: bool| {
            let env = crate::config::proxy::env_name(h);
            let mut vars = vec![PEER, (env.as_str(), v)];
            if tls {
                vars.push(("HTTPS", "on"));
            }
            run(h, None, &vars).https
        };
        for v in ["https", "HTTPS"] {
            assert_eq!(flag("X-Forwarded-Proto", v, false), Some(true));
        }
        assert_eq!(flag("X-Forwarded-Proto", "http", true), Some(false));
        assert_eq!(flag("X-Scheme", "https", false), Some(true));
        assert_eq!(flag("X-Forwarded-Scheme", "https", false), Some(true));
        for v in ["On", "true", "1"] {
            assert_eq!(flag("X-Forwarded-SSL", v, false), Some(true), "{v}");
            assert_eq!(flag("X-Forwarded-HTTPS", v, false), Some(true), "{v}");
        }
        for v in ["Off", "false", "0"] {
            assert_eq!(flag("X-Forwarded-SSL", v, true), Some(false), "{v}");
            assert_eq!(flag("X-HTTPS", v, true), Some(false), "{v}");
        }
        // A value that is neither leaves the connection's own scheme.
        assert_eq!(flag("X-Forwarded-Proto", "gopher", true), Some(true));
        assert_eq!(flag("X-Forwarded-Proto", "gopher", false), Some(false));
        // Not listed: no say.
        let r = run(
            "X-Forwarded-For",
            None,
            &[PEER, ("HTTP_X_FORWARDED_PROTO", "https"), ("HTTPS", "on")],
        );
        assert_eq!(r.https, None);
        assert!(!r.drops(b"HTTP_X_FORWARDED_PROTO"));
    }

    #[test]
    fn synonyms_of_a_listed_category_are_removed() {
        let r = run(
            "X-Forwarded-For",
            None,
            &[
                PEER,
                ("HTTP_X_FORWARDED_FOR", "203.0.113.5"),
                ("HTTP_X_CLIENT_IP", "198.51.100.9"),
                ("HTTP_X_REAL_IP", "198.51.100.9"),
                ("HTTP_X_FORWARDED_HOST", "other.example"),
            ],
        );
        assert_eq!(value(&r, "REMOTE_ADDR"), Some("203.0.113.5"));
        assert!(r.remove.contains(&&b"HTTP_X_CLIENT_IP"[..]));
        assert!(r.remove.contains(&&b"HTTP_X_REAL_IP"[..]));
        assert!(!r.drops(b"HTTP_X_FORWARDED_FOR"));
        // Another category, not listed: passed on as an ordinary header.
        assert!(!r.drops(b"HTTP_X_FORWARDED_HOST"));
        // Two listed synonyms, both sent: the later one wins and the other goes.
        let r = run(
            "X-Forwarded-Proto X-Forwarded-SSL",
            None,
            &[PEER, ("HTTP_X_FORWARDED_PROTO", "http"), ("HTTP_X_FORWARDED_SSL", "on")],
        );
        assert_eq!(r.https, Some(true));
        assert_eq!(r.remove, vec![&b"HTTP_X_FORWARDED_PROTO"[..]]);
        // The same when the loser had rewritten its own list.
        let r = run(
            "X-Forwarded-For X-Real-IP",
            Some("127.0.0.1"),
            &[
                PEER,
                ("HTTP_X_FORWARDED_FOR", "1.2.3.4, 127.0.0.1"),
                ("HTTP_X_REAL_IP", "5.6.7.8"),
            ],
        );
        assert_eq!(value(&r, "REMOTE_ADDR"), Some("5.6.7.8"));
        assert_eq!(value(&r, "HTTP_X_FORWARDED_FOR"), None);
        assert!(r.drops(b"HTTP_X_FORWARDED_FOR"));
    }

    #[test]
    fn untrusted_peer_gets_nothing_applied_and_loses_every_listed_category() {
        let listed = "X-Forwarded-For X-Forwarded-Host X-Forwarded-Proto X-Forwarded-SSL X-Script-Name X-Forwarded-Server X-Forwarded-Port";
        let vars = [
            PEER,
            ("HTTP_X_FORWARDED_FOR", "203.0.113.5"),
            ("HTTP_X_REAL_IP", "203.0.113.5"),
            ("HTTP_X_FORWARDED_HOST", "spoof.example.com"),
            ("HTTP_X_HOST", "spoof.example.com"),
            ("HTTP_X_FORWARDED_PROTO", "https"),
            ("HTTP_X_SCHEME", "https"),
            ("HTTP_X_SCRIPT_NAME", "/spoof"),
            ("HTTP_X_FORWARDED_SCRIPT_NAME", "/spoof"),
            ("HTTP_X_FORWARDED_SERVER", "spoof.example.com"),
            ("HTTP_X_FORWARDED_PORT", "31337"),
        ];
        for proxies in ["10.99.99.99", "::1", "10.0.0.0/8"] {
            let r = run(listed, Some(proxies), &vars);
            assert!(r.set.is_empty(), "{proxies}: {:?}", r.set);
            assert_eq!(r.https, None);
            for (k, _) in &vars[1..] {
                assert!(r.drops(k.as_bytes()), "{proxies}: {k} kept");
            }
        }
        // A peer address that is not an address at all is not trusted.
        let r = run("X-Forwarded-For", Some("127.0.0.1"), &[("REMOTE_ADDR", "x"), vars[1]]);
        assert!(r.set.is_empty());
        assert!(r.drops(b"HTTP_X_FORWARDED_FOR"));
    }
}
