//! Files embedded in the binary (the tracker scripts, the dashboard), compressed once and
//! served with a strong ETag per encoding, so browsers and CDNs can revalidate cheaply.

use std::io::Write;

use poem::http::{StatusCode, header};
use poem::{Request, Response, ResponseBuilder};
use sha2::{Digest, Sha256};

/// One file, plain and gzipped, with its entity tag.
pub struct EncodedFile {
    /// The bytes as built.
    pub plain: Vec<u8>,
    /// The same, gzipped.
    pub gzip: Vec<u8>,
    /// A quoted strong ETag of the plain bytes.
    pub etag: String,
}

impl EncodedFile {
    /// Compresses `plain` and tags it.
    pub fn new(plain: Vec<u8>) -> Self {
        let etag = format!("\"{}\"", &hex::encode(Sha256::digest(&plain))[..16]);
        let gzip = gzip(&plain);
        Self { plain, gzip, etag }
    }

    /// Answers `req` with this file: gzipped when accepted, 304 when the client's tag
    /// matches. `builder` carries the caller's headers (cache policy, CORS).
    pub fn respond(&self, req: &Request, content_type: &str, builder: ResponseBuilder) -> Response {
        let accepts_gzip = req
            .headers()
            .get(header::ACCEPT_ENCODING)
            .and_then(|value| value.to_str().ok())
            .is_some_and(accepts_gzip);
        // Each encoding is its own representation, with its own tag.
        let etag = if accepts_gzip {
            format!("{}-gz\"", self.etag.trim_end_matches('"'))
        } else {
            self.etag.clone()
        };
        let not_modified = req
            .headers()
            .get(header::IF_NONE_MATCH)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|tags| tags.split(',').any(|tag| tag.trim() == etag));
        let builder = builder
            .header(header::ETAG, etag.as_str())
            .header(header::VARY, "Accept-Encoding")
            .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
        if not_modified {
            return builder.status(StatusCode::NOT_MODIFIED).finish();
        }
        let builder = builder.content_type(content_type);
        if accepts_gzip {
            builder
                .header(header::CONTENT_ENCODING, "gzip")
                .body(self.gzip.clone())
        } else {
            builder.body(self.plain.clone())
        }
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing to a Vec cannot fail.
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

/// Whether an `Accept-Encoding` value accepts gzip (listed, or `*`, without `q=0`).
pub fn accepts_gzip(value: &str) -> bool {
    value.split(',').any(|coding| {
        let mut parts = coding.split(';').map(str::trim);
        let name = parts.next().unwrap_or_default();
        let refused = parts.any(|param| {
            param
                .strip_prefix("q=")
                .and_then(|q| q.parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_acceptance_honours_q_zero() {
        assert!(accepts_gzip("gzip, br"));
        assert!(accepts_gzip("br;q=1.0, gzip;q=0.5"));
        assert!(accepts_gzip("*"));
        assert!(!accepts_gzip("gzip;q=0"));
        assert!(!accepts_gzip("br, identity"));
    }
}
