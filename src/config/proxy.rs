//! WSGITrustedProxyHeaders and WSGITrustedProxies: which front-end proxy headers may rewrite the request's
//! client address, host, server, port, mount point and scheme, and from which peers. The values are parsed
//! here; `crate::request::proxy` applies them to each request.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// What a proxy header tells: headers of one category are synonyms, and naming any of them in
/// WSGITrustedProxyHeaders means the others of that category are never passed on (so a client cannot spoof the
/// one the proxy does not set).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    /// REMOTE_ADDR.
    Client,
    /// HTTP_HOST.
    Host,
    /// SERVER_NAME.
    Server,
    /// SERVER_PORT.
    Port,
    /// SCRIPT_NAME (and mod_wsgi.mount_point).
    ScriptName,
    /// wsgi.url_scheme (HTTPS).
    Scheme,
}

/// How a trusted header's value is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Apply {
    /// X-Forwarded-For: a list, walked against WSGITrustedProxies.
    ForwardedFor,
    /// The value as it is.
    Verbatim,
    /// "http" / "https".
    SchemeName,
    /// On/Off, true/false, 1/0.
    SchemeFlag,
}

/// A header mod_wsgi (and so mod_rwsgi) knows how to apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProxyHeader {
    /// As the header appears in the environ (HTTP_X_FORWARDED_FOR).
    pub env: &'static str,
    pub category: Category,
    pub apply: Apply,
}

const fn h(env: &'static str, category: Category, apply: Apply) -> ProxyHeader {
    ProxyHeader { env, category, apply }
}

/// Every header WSGITrustedProxyHeaders can name, in mod_wsgi's documented order.
pub const PROXY_HEADERS: &[ProxyHeader] = &[
    h("HTTP_X_FORWARDED_FOR", Category::Client, Apply::ForwardedFor),
    h("HTTP_X_CLIENT_IP", Category::Client, Apply::Verbatim),
    h("HTTP_X_REAL_IP", Category::Client, Apply::Verbatim),
    h("HTTP_X_FORWARDED_HOST", Category::Host, Apply::Verbatim),
    h("HTTP_X_HOST", Category::Host, Apply::Verbatim),
    h("HTTP_X_FORWARDED_SERVER", Category::Server, Apply::Verbatim),
    h("HTTP_X_FORWARDED_PORT", Category::Port, Apply::Verbatim),
    h("HTTP_X_SCRIPT_NAME", Category::ScriptName, Apply::Verbatim),
    h("HTTP_X_FORWARDED_SCRIPT_NAME", Category::ScriptName, Apply::Verbatim),
    h("HTTP_X_FORWARDED_PROTO", Category::Scheme, Apply::SchemeName),
    h("HTTP_X_FORWARDED_SCHEME", Category::Scheme, Apply::SchemeName),
    h("HTTP_X_SCHEME", Category::Scheme, Apply::SchemeName),
    h("HTTP_X_FORWARDED_HTTPS", Category::Scheme, Apply::SchemeFlag),
    h("HTTP_X_FORWARDED_SSL", Category::Scheme, Apply::SchemeFlag),
    h("HTTP_X_HTTPS", Category::Scheme, Apply::SchemeFlag),
];

/// A header name as written in the configuration ("X-Forwarded-For", any case; "HTTP_X_FORWARDED_FOR" too)
/// as its environ name.
pub fn env_name(written: &str) -> String {
    let upper: String = written
        .chars()
        .map(|c| if c == '-' { '_' } else { c.to_ascii_uppercase() })
        .collect();
    if upper.starts_with("HTTP_") {
        upper
    } else {
        format!("HTTP_{upper}")
    }
}

/// The headers of one WSGITrustedProxyHeaders line. Unknown names are returned apart: mod_wsgi accepts and
/// ignores them, so they are a warning, not an error.
pub fn parse_headers(args: &[String]) -> Result<(Vec<ProxyHeader>, Vec<String>), String> {
    if args.is_empty() {
        return Err("takes one or more header names, e.g. X-Forwarded-For X-Forwarded-Proto".to_string());
    }
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for a in args {
        let env = env_name(a);
        match PROXY_HEADERS.iter().find(|p| p.env == env) {
            Some(p) if !known.contains(p) => known.push(*p),
            Some(_) => {}
            None => unknown.push(a.clone()),
        }
    }
    Ok((known, unknown))
}

/// The header names WSGITrustedProxyHeaders knows, as written in a configuration (for messages and docs).
pub fn known_names() -> String {
    PROXY_HEADERS
        .iter()
        .map(|p| {
            p.env["HTTP_".len()..]
                .split('_')
                .map(|w| {
                    let mut c = w.chars();
                    c.next()
                        .map_or(String::new(), |f| f.to_string() + &c.as_str().to_ascii_lowercase())
                })
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One entry of WSGITrustedProxies: an address, or a network as ADDR/BITS, ADDR/NETMASK or a leading part of
/// an IPv4 address ("10.1" is 10.1.0.0/16), as httpd's `Require ip` takes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProxyNet {
    addr: IpAddr,
    bits: u8,
}

impl ProxyNet {
    pub fn parse(s: &str) -> Result<ProxyNet, String> {
        let bad = |why: &str| format!("{s:?} is not an IP address or network ({why})");
        let (ip, mask) = match s.split_once('/') {
            Some((ip, mask)) => (ip, Some(mask)),
            None => (s, None),
        };
        let (addr, full) = if let Ok(a) = ip.parse::<Ipv6Addr>() {
            (IpAddr::V6(a), 128u8)
        } else if let Ok(a) = ip.parse::<Ipv4Addr>() {
            (IpAddr::V4(a), 32)
        } else {
            // A leading part of an IPv4 address: 1 to 3 octets.
            let parts: Vec<&str> = ip.split('.').collect();
            if parts.len() > 3 || mask.is_some() {
                return Err(bad(
                    "expected e.g. 10.0.0.1, 10.0.0.0/8, 10.0.0.0/255.0.0.0, 10.1 or fd00::/8",
                ));
            }
            let mut o = [0u8; 4];
            for (i, p) in parts.iter().enumerate() {
                o[i] = p
                    .parse()
                    .map_err(|_| bad("expected e.g. 10.0.0.1, 10.0.0.0/8, 10.0.0.0/255.0.0.0, 10.1 or fd00::/8"))?;
            }
            return Ok(ProxyNet {
                addr: IpAddr::V4(Ipv4Addr::from(o)),
                bits: 8 * parts.len() as u8,
            });
        };
        let bits = match mask {
            None => full,
            Some(m) => match (m.parse::<u8>(), m.parse::<Ipv4Addr>(), addr) {
                (Ok(b), _, _) if b <= full => b,
                (Ok(_), _, _) => return Err(bad(&format!("a prefix length is at most {full}"))),
                (_, Ok(nm), IpAddr::V4(_)) => {
                    let n = u32::from(nm);
                    if n.leading_ones() + n.trailing_zeros() != 32 {
                        return Err(bad("the netmask is not contiguous"));
                    }
                    n.leading_ones() as u8
                }
                _ => return Err(bad("the part after / must be a prefix length")),
            },
        };
        Ok(ProxyNet { addr, bits })
    }

    /// Whether `ip` is in this network (an IPv4-mapped IPv6 peer matches as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => prefix_eq(&n.octets(), &a.octets(), self.bits),
            (IpAddr::V6(n), IpAddr::V6(a)) => prefix_eq(&n.octets(), &a.octets(), self.bits),
            _ => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let whole = (bits / 8) as usize;
    if a[..whole] != b[..whole] {
        return false;
    }
    let rest = bits % 8;
    rest == 0 || (a[whole] ^ b[whole]) >> (8 - rest) == 0
}

/// The networks of one WSGITrustedProxies line.
pub fn parse_proxies(args: &[String]) -> Result<Vec<ProxyNet>, String> {
    if args.is_empty() {
        return Err("takes one or more addresses or networks, e.g. 127.0.0.1 10.0.0.0/8".to_string());
    }
    args.iter().map(|a| ProxyNet::parse(a)).collect()
}

/// Whether `ip` (text, as REMOTE_ADDR or an X-Forwarded-For entry) is in one of `nets`; None when it is not an
/// address.
pub fn is_trusted(nets: &[ProxyNet], ip: &[u8]) -> Option<bool> {
    let ip: IpAddr = std::str::from_utf8(ip).ok()?.trim().parse().ok()?;
    Some(nets.iter().any(|n| n.contains(ip)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> ProxyNet {
        ProxyNet::parse(s).unwrap()
    }

    #[test]
    fn names_are_taken_as_mod_wsgi_takes_them() {
        assert_eq!(env_name("X-Forwarded-For"), "HTTP_X_FORWARDED_FOR");
        assert_eq!(env_name("x-forwarded-proto"), "HTTP_X_FORWARDED_PROTO");
        assert_eq!(env_name("HTTP_X_REAL_IP"), "HTTP_X_REAL_IP");
        let (known, unknown) = parse_headers(&[
            "X-Forwarded-For".into(),
            "X-Forwarded-Prefix".into(),
            "x-forwarded-for".into(),
        ])
        .unwrap();
        assert_eq!(known.len(), 1);
        assert_eq!(unknown, vec!["X-Forwarded-Prefix".to_string()]);
        assert!(parse_headers(&[]).is_err());
        assert!(known_names().starts_with("X-Forwarded-For, X-Client-Ip"));
    }

    #[test]
    fn networks() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(net("127.0.0.1").contains(ip("127.0.0.1")));
        assert!(!net("127.0.0.1").contains(ip("127.0.0.2")));
        assert!(net("10.0.0.0/8").contains(ip("10.200.3.4")));
        assert!(!net("10.0.0.0/8").contains(ip("11.0.0.1")));
        assert!(net("10.1").contains(ip("10.1.9.9")));
        assert!(!net("10.1").contains(ip("10.2.0.1")));
        assert!(net("192.168.0.0/255.255.0.0").contains(ip("192.168.7.7")));
        assert!(net("172.16.0.0/12").contains(ip("172.31.255.255")));
        assert!(!net("172.16.0.0/12").contains(ip("172.32.0.0")));
        assert!(net("::1").contains(ip("::1")));
        assert!(net("fd00::/8").contains(ip("fd12::5")));
        assert!(!net("fd00::/8").contains(ip("fe80::1")));
        // An IPv4 peer on a dual-stack listener arrives as ::ffff:a.b.c.d.
        assert!(net("127.0.0.1").contains(ip("::ffff:127.0.0.1")));
        assert!(net("0.0.0.0/0").contains(ip("8.8.8.8")));
        for bad in [
            "",
            "example.com",
            "10.0.0.0/33",
            "::1/129",
            "10.0.0.0/255.0.255.0",
            "1.2.3.4.5",
            "10.x",
            "fd00::/ff::",
        ] {
            assert!(ProxyNet::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(is_trusted(&[net("127.0.0.1")], b"127.0.0.1"), Some(true));
        assert_eq!(is_trusted(&[net("127.0.0.1")], b"10.0.0.1"), Some(false));
        assert_eq!(is_trusted(&[net("127.0.0.1")], b"unknown"), None);
    }
}
