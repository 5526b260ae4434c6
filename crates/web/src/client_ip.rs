//! The client's address, for login rate limiting and logs.
//!
//! By default the client is the peer of the connection. Behind a reverse proxy every peer is the
//! proxy, so the server can be told which peers are proxies ([`TrustedProxies`], put in the
//! request extensions as `Arc<TrustedProxies>` by the binary). Only a request whose peer is one
//! of them has its forwarding header read: the right-most address in it that is not itself a
//! trusted proxy is the client. Everything left of that address was written by the client and
//! proves nothing; from any other peer the header is ignored, so it cannot be spoofed.

use std::convert::Infallible;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::header::{FORWARDED, HeaderName};
use axum::http::request::Parts;
use ipnet::IpNet;

/// The client address: the peer address of the connection, or the address a trusted proxy
/// forwarded. `None` when the server was started without connect info (tests driving the
/// router directly).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let client = match (peer, parts.extensions.get::<Arc<TrustedProxies>>()) {
            (Some(peer), Some(proxies)) => Some(proxies.client_address(peer, &parts.headers)),
            (peer, _) => peer,
        };
        Ok(ClientIp(client))
    }
}

/// Which header the trusted proxies write. One only: a proxy that sets `X-Forwarded-For`
/// passes a client's own `Forwarded` header through untouched (and the other way round), so
/// reading both would let a client choose its address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (nginx, HAProxy, Traefik, cloud balancers).
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for="[2001:db8::1]:4711"`.
    Forwarded,
}

/// The peers whose forwarding header is believed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedProxies {
    nets: Vec<IpNet>,
    header: ProxyHeader,
}

impl TrustedProxies {
    /// A comma list of CIDRs (`10.0.0.0/8`, `fd00::/8`) or single addresses (`192.0.2.1`, `::1`).
    pub fn parse(list: &str, header: ProxyHeader) -> Result<TrustedProxies, String> {
        let mut nets = Vec::new();
        for item in list.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let net = match item.parse::<IpNet>() {
                Ok(net) => net.trunc(),
                Err(_) => item
                    .parse::<IpAddr>()
                    .map(|ip| IpNet::from(canonical(ip)))
                    .map_err(|_| format!("{item:?} is neither an address nor a CIDR"))?,
            };
            nets.push(net);
        }
        if nets.is_empty() {
            return Err("no address or CIDR given".to_string());
        }
        Ok(TrustedProxies { nets, header })
    }

    pub fn header(&self) -> ProxyHeader {
        self.header
    }

    /// Whether `ip` is a trusted proxy (an IPv4-mapped IPv6 address counts as its IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.nets.iter().any(|net| net.contains(&ip))
    }

    /// The client address of a request from `peer` with `headers`.
    ///
    /// Walks the forwarded chain from the right (the hop nearest to us) while the hops are
    /// trusted proxies. A hop that is obfuscated (`unknown`, `_hidden`) or malformed ends the
    /// walk: the trusted proxy that reported it is the best-known client address.
    pub fn client_address(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = canonical(peer);
        if !self.contains(client) {
            return client;
        }
        let hops = match self.header {
            ProxyHeader::XForwardedFor => x_forwarded_for(headers),
            ProxyHeader::Forwarded => forwarded_for(headers),
        };
        for hop in hops.iter().rev() {
            let Some(ip) = hop else { break };
            client = *ip;
            if !self.contains(client) {
                break;
            }
        }
        client
    }
}

impl fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, net) in self.nets.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{net}")?;
        }
        Ok(())
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`, what a dual-stack socket reports) as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

/// The hops of every `X-Forwarded-For` header, in order (several headers are one list).
fn x_forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    const XFF: HeaderName = HeaderName::from_static("x-forwarded-for");
    headers
        .get_all(XFF)
        .iter()
        .flat_map(|value| value.as_bytes().split(|b| *b == b','))
        .filter_map(|item| {
            let item = std::str::from_utf8(item).map(str::trim);
            match item {
                Ok("") => None,
                Ok(item) => Some(node(item)),
                Err(_) => Some(None),
            }
        })
        .collect()
}

/// The `for=` of every element of every `Forwarded` header, in order. An element without
/// `for=` is a hop whose address is unknown.
fn forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let mut hops = Vec::new();
    for value in headers.get_all(FORWARDED) {
        let Ok(value) = value.to_str() else {
            hops.push(None);
            continue;
        };
        for element in split_unquoted(value, ',') {
            if element.trim().is_empty() {
                continue;
            }
            let mut hop = None;
            for pair in split_unquoted(element, ';') {
                if let Some((name, value)) = pair.split_once('=')
                    && name.trim().eq_ignore_ascii_case("for")
                {
                    hop = node(value.trim());
                }
            }
            hops.push(hop);
        }
    }
    hops
}

/// Splits at `sep` outside double-quoted strings (which may contain `\"`).
fn split_unquoted(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in s.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            c if c == sep && !quoted => {
                parts.push(&s[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

/// One node: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`, `[2001:db8::1]`,
/// `[2001:db8::1]:4711`, optionally in double quotes. `unknown`, `_obfuscated` and anything
/// else: `None`.
fn node(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    let s = match s.strip_prefix('"') {
        Some(inner) => inner.strip_suffix('"')?,
        None => s,
    };
    if let Some(rest) = s.strip_prefix('[') {
        let (addr, after) = rest.split_once(']')?;
        if !(after.is_empty() || after.starts_with(':')) {
            return None;
        }
        return addr.parse::<Ipv6Addr>().ok().map(|ip| canonical(ip.into()));
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    match s.parse::<SocketAddr>() {
        Ok(SocketAddr::V4(addr)) => Some(IpAddr::V4(*addr.ip())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn headers(pairs: &[(&str, &[u8])]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_bytes(value).unwrap(),
            );
        }
        map
    }

    const PROXIES: &str = "10.0.0.0/8, 192.0.2.1, fd00::/8";

    /// (what, peer, headers, expected client)
    type Case<'a> = (&'a str, &'a str, &'a [(&'a str, &'a [u8])], &'a str);

    #[test]
    fn x_forwarded_for_from_trusted_and_untrusted_peers() {
        let trusted = TrustedProxies::parse(PROXIES, ProxyHeader::XForwardedFor).unwrap();
        let xff = "x-forwarded-for";
        let cases: &[Case] = &[
            ("no header", "10.1.1.1", &[], "10.1.1.1"),
            (
                "untrusted peer: spoofed header ignored",
                "203.0.113.9",
                &[(xff, b"198.51.100.7")],
                "203.0.113.9",
            ),
            (
                "untrusted peer, Forwarded ignored too",
                "203.0.113.9",
                &[("forwarded", b"for=198.51.100.7")],
                "203.0.113.9",
            ),
            (
                "one proxy",
                "10.1.1.1",
                &[(xff, b"198.51.100.7")],
                "198.51.100.7",
            ),
            (
                "client-written prefix ignored",
                "10.1.1.1",
                &[(xff, b"1.1.1.1, 198.51.100.7")],
                "198.51.100.7",
            ),
            (
                "chain of trusted proxies",
                "10.1.1.1",
                &[(xff, b"1.1.1.1, 198.51.100.7, 10.2.2.2, 192.0.2.1")],
                "198.51.100.7",
            ),
            (
                "several headers are one list",
                "10.1.1.1",
                &[(xff, b"1.1.1.1, 198.51.100.7"), (xff, b"10.2.2.2")],
                "198.51.100.7",
            ),
            (
                "every hop trusted: the left-most",
                "10.1.1.1",
                &[(xff, b"10.3.3.3, 10.2.2.2")],
                "10.3.3.3",
            ),
            (
                "IPv6 client",
                "10.1.1.1",
                &[(xff, b"2001:db8::7")],
                "2001:db8::7",
            ),
            (
                "bracketed IPv6 with port",
                "10.1.1.1",
                &[(xff, b"[2001:db8::7]:4711")],
                "2001:db8::7",
            ),
            (
                "IPv4 with port",
                "10.1.1.1",
                &[(xff, b"198.51.100.7:51234")],
                "198.51.100.7",
            ),
            (
                "IPv6 proxy peer",
                "fd00::5",
                &[(xff, b"198.51.100.7")],
                "198.51.100.7",
            ),
            (
                "IPv4-mapped peer counts as IPv4",
                "::ffff:10.1.1.1",
                &[(xff, b"198.51.100.7")],
                "198.51.100.7",
            ),
            (
                "IPv4-mapped client",
                "10.1.1.1",
                &[(xff, b"::ffff:198.51.100.7")],
                "198.51.100.7",
            ),
            (
                "malformed hop: the proxy that reported it",
                "10.1.1.1",
                &[(xff, b"198.51.100.7, garbage")],
                "10.1.1.1",
            ),
            (
                "malformed hop behind a trusted one",
                "10.1.1.1",
                &[(xff, b"nonsense, 10.2.2.2")],
                "10.2.2.2",
            ),
            ("unknown", "10.1.1.1", &[(xff, b"unknown")], "10.1.1.1"),
            (
                "empty list items are skipped",
                "10.1.1.1",
                &[(xff, b"198.51.100.7,, ")],
                "198.51.100.7",
            ),
            (
                "not UTF-8",
                "10.1.1.1",
                &[(xff, b"198.51.100.7, \xff")],
                "10.1.1.1",
            ),
            (
                "Forwarded ignored when X-Forwarded-For is the header",
                "10.1.1.1",
                &[("forwarded", b"for=198.51.100.8"), (xff, b"198.51.100.7")],
                "198.51.100.7",
            ),
            (
                "only Forwarded: no forwarded address",
                "10.1.1.1",
                &[("forwarded", b"for=198.51.100.8")],
                "10.1.1.1",
            ),
        ];
        for (what, peer, pairs, want) in cases {
            assert_eq!(
                trusted.client_address(ip(peer), &headers(pairs)),
                ip(want),
                "{what}"
            );
        }
    }

    #[test]
    fn forwarded_from_trusted_and_untrusted_peers() {
        let trusted = TrustedProxies::parse(PROXIES, ProxyHeader::Forwarded).unwrap();
        let fwd = "forwarded";
        let cases: &[Case] = &[
            (
                "untrusted peer",
                "203.0.113.9",
                &[(fwd, b"for=198.51.100.7")],
                "203.0.113.9",
            ),
            (
                "one proxy",
                "10.1.1.1",
                &[(fwd, b"for=198.51.100.7")],
                "198.51.100.7",
            ),
            (
                "case-insensitive name, other pairs",
                "10.1.1.1",
                &[(fwd, b"proto=https;For=198.51.100.7;by=10.1.1.1")],
                "198.51.100.7",
            ),
            (
                "quoted with port",
                "10.1.1.1",
                &[(fwd, b"for=\"198.51.100.7:4711\"")],
                "198.51.100.7",
            ),
            (
                "quoted IPv6 with port",
                "10.1.1.1",
                &[(fwd, b"for=\"[2001:db8:cafe::17]:4711\"")],
                "2001:db8:cafe::17",
            ),
            (
                "chain",
                "10.1.1.1",
                &[(
                    fwd,
                    b"for=1.1.1.1, for=198.51.100.7;proto=https, for=10.2.2.2",
                )],
                "198.51.100.7",
            ),
            (
                "several headers",
                "10.1.1.1",
                &[
                    (fwd, b"for=1.1.1.1, for=198.51.100.7"),
                    (fwd, b"for=192.0.2.1"),
                ],
                "198.51.100.7",
            ),
            (
                "obfuscated hop",
                "10.1.1.1",
                &[(fwd, b"for=_hidden")],
                "10.1.1.1",
            ),
            (
                "unknown hop behind a proxy",
                "10.1.1.1",
                &[(fwd, b"for=unknown, for=10.2.2.2")],
                "10.2.2.2",
            ),
            (
                "element without for",
                "10.1.1.1",
                &[(fwd, b"for=198.51.100.7, proto=https")],
                "10.1.1.1",
            ),
            (
                "comma inside quotes",
                "10.1.1.1",
                &[(fwd, b"for=198.51.100.7;host=\"a,b\"")],
                "198.51.100.7",
            ),
            (
                "unterminated quote",
                "10.1.1.1",
                &[(fwd, b"for=\"198.51.100.7")],
                "10.1.1.1",
            ),
            (
                "bracket garbage",
                "10.1.1.1",
                &[(fwd, b"for=\"[2001:db8::1]x\"")],
                "10.1.1.1",
            ),
            (
                "X-Forwarded-For ignored when Forwarded is the header",
                "10.1.1.1",
                &[("x-forwarded-for", b"198.51.100.9")],
                "10.1.1.1",
            ),
        ];
        for (what, peer, pairs, want) in cases {
            assert_eq!(
                trusted.client_address(ip(peer), &headers(pairs)),
                ip(want),
                "{what}"
            );
        }
    }

    #[test]
    fn trusted_lists_parse_and_refuse_garbage() {
        let t = TrustedProxies::parse(" 10.0.0.0/8,::1 , 192.0.2.9/24", ProxyHeader::XForwardedFor)
            .unwrap();
        assert_eq!(t.to_string(), "10.0.0.0/8,::1/128,192.0.2.0/24");
        assert!(t.contains(ip("10.255.0.1")));
        assert!(t.contains(ip("::1")));
        assert!(t.contains(ip("192.0.2.200")));
        assert!(!t.contains(ip("11.0.0.1")));
        for bad in ["", " , ", "10.0.0.0/33", "example.com", "10.0.0.0/8, nope"] {
            assert!(
                TrustedProxies::parse(bad, ProxyHeader::Forwarded).is_err(),
                "{bad:?}"
            );
        }
    }

    #[tokio::test]
    async fn the_extractor_reads_the_header_only_with_the_extension() {
        let request = |peer: &str, with_proxies: bool| {
            let mut request = axum::http::Request::get("/")
                .header("x-forwarded-for", "198.51.100.7")
                .body(())
                .unwrap();
            request
                .extensions_mut()
                .insert(ConnectInfo(SocketAddr::new(ip(peer), 40000)));
            if with_proxies {
                let proxies =
                    TrustedProxies::parse("127.0.0.1", ProxyHeader::XForwardedFor).unwrap();
                request.extensions_mut().insert(Arc::new(proxies));
            }
            request.into_parts().0
        };
        let extract = |mut parts: Parts| async move {
            ClientIp::from_request_parts(&mut parts, &())
                .await
                .unwrap()
                .0
        };
        assert_eq!(
            extract(request("127.0.0.1", false)).await,
            Some(ip("127.0.0.1"))
        );
        assert_eq!(
            extract(request("127.0.0.1", true)).await,
            Some(ip("198.51.100.7"))
        );
        assert_eq!(
            extract(request("203.0.113.1", true)).await,
            Some(ip("203.0.113.1"))
        );
        let no_peer = axum::http::Request::get("/").body(()).unwrap();
        assert_eq!(extract(no_peer.into_parts().0).await, None);
    }
}
