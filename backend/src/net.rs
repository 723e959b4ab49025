//! The real client address behind trusted reverse proxies.

use std::net::IpAddr;

use actix_web::http::header::HeaderMap;
use actix_web::HttpRequest;
use ipnet::IpNet;

/// The client's address: the peer's, unless the peer is a trusted proxy, in
/// which case the right-most `X-Forwarded-For` entry that is not itself a
/// trusted proxy. Entries left of it could have been written by anyone.
pub fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = peer?;
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let mut chain: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    chain.reverse();
    Some(
        chain
            .iter()
            .copied()
            .find(|ip| !is_trusted(ip))
            .or(chain.last().copied())
            .unwrap_or(peer),
    )
}

/// [`client_ip`] of a request.
pub fn request_ip(req: &HttpRequest, trusted: &[IpNet]) -> Option<IpAddr> {
    client_ip(req.peer_addr().map(|a| a.ip()), req.headers(), trusted)
}

/// What the access log and the per-address rate limits call a request's
/// client: its [`request_ip`], or `-` for a connection without a peer
/// address (a test request, a Unix socket), all such sharing one name.
pub fn client_label(req: &HttpRequest, trusted: &[IpNet]) -> String {
    request_ip(req, trusted).map_or_else(|| "-".to_owned(), |ip| ip.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            HeaderName::from_static("x-forwarded-for"),
            HeaderValue::from_str(xff).unwrap(),
        );
        h
    }

    #[test]
    fn untrusted_peer_is_the_client_whatever_it_claims() {
        let ip = client_ip(
            Some("203.0.113.9".parse().unwrap()),
            &headers("1.2.3.4"),
            &["10.0.0.0/8".parse().unwrap()],
        );
        assert_eq!(ip, Some("203.0.113.9".parse().unwrap()));
    }

    #[test]
    fn trusted_proxy_yields_the_rightmost_untrusted_hop() {
        let trusted = ["10.0.0.0/8".parse().unwrap()];
        let ip = client_ip(
            Some("10.0.0.2".parse().unwrap()),
            &headers("6.6.6.6, 198.51.100.7, 10.0.0.5"),
            &trusted,
        );
        assert_eq!(ip, Some("198.51.100.7".parse().unwrap()));
    }

    #[test]
    fn the_label_is_the_address_or_one_name_for_none() {
        let trusted = ["10.0.0.0/8".parse().unwrap()];
        let req = actix_web::test::TestRequest::default()
            .peer_addr("10.0.0.2:4000".parse().unwrap())
            .insert_header(("x-forwarded-for", "198.51.100.7"))
            .to_http_request();
        assert_eq!(client_label(&req, &trusted), "198.51.100.7");
        let req = actix_web::test::TestRequest::default().to_http_request();
        assert_eq!(client_label(&req, &trusted), "-");
    }
}
