//! The `beacon_session` cookie: HttpOnly, SameSite=Lax, Path=/, and Secure behind TLS.

use poem::Request;

/// Cookie name.
pub const NAME: &str = "beacon_session";

/// The session token from the request's cookies.
pub fn read(req: &Request) -> Option<String> {
    read_named(req, NAME)
}

/// The non-empty value of the cookie `name` in the request.
pub fn read_named(req: &Request, name: &str) -> Option<String> {
    req.headers()
        .get_all(poem::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(cookie, _)| *cookie == name)
        .map(|(_, value)| value.to_owned())
        .filter(|value| !value.is_empty())
}

/// Whether the request reached us over TLS (directly or via a proxy saying so).
pub fn is_tls(req: &Request, force_secure: bool) -> bool {
    force_secure
        || req.uri().scheme_str() == Some("https")
        || req
            .headers()
            .get("x-forwarded-proto")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
}

/// `Set-Cookie` value that stores `token` for `max_age_secs`.
pub fn set(token: &str, max_age_secs: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{NAME}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}")
}

/// `Set-Cookie` value that deletes the cookie.
pub fn clear(secure: bool) -> String {
    set("", 0, secure)
}
