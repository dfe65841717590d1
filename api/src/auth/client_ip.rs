//! The client's IP address: the socket peer, or, when the peer is a trusted proxy, the
//! right-most `X-Forwarded-For` entry that is not itself a trusted proxy. A peer without an IP
//! address (a unix socket, which only a local proxy can reach) counts as trusted.

use std::net::IpAddr;

use poem::Request;

/// The client IP of `req`, given the proxies whose `X-Forwarded-For` is believed.
pub fn client_ip(req: &Request, trusted_proxies: &[IpAddr]) -> Option<IpAddr> {
    let peer = req.remote_addr().as_socket_addr().map(|addr| addr.ip());
    if let Some(peer) = peer.filter(|peer| !trusted_proxies.contains(peer)) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|part| part.trim().parse().ok())
        .collect();
    forwarded
        .into_iter()
        .rev()
        .find(|ip| !trusted_proxies.contains(ip))
        .or(peer)
}
