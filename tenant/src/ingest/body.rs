//! Request bodies of the error endpoints: decoded from `Content-Encoding` (gzip, deflate, br;
//! the Node SDK gzips bodies over 32 KiB) with a cap on the decoded size, so a small
//! compressed body cannot expand into gigabytes (a decompression bomb).

use std::io::Read;

/// Why a body could not be decoded.
#[derive(Debug, PartialEq, Eq)]
pub enum BodyError {
    /// The decoded body would exceed the cap.
    TooLarge(usize),
    /// The encoding is not one Beacon decodes.
    UnsupportedEncoding(String),
    /// The bytes are not valid for the declared encoding.
    Corrupt(String),
}

/// Decodes `body` per the `Content-Encoding` header value, refusing more than `max` bytes.
pub fn decode(encoding: Option<&str>, body: &[u8], max: usize) -> Result<Vec<u8>, BodyError> {
    let encoding = encoding.unwrap_or("identity").trim().to_ascii_lowercase();
    match encoding.as_str() {
        "" | "identity" => {
            if body.len() > max {
                return Err(BodyError::TooLarge(max));
            }
            Ok(body.to_vec())
        }
        "gzip" | "x-gzip" => read_capped(flate2::read::MultiGzDecoder::new(body), max),
        "deflate" => {
            // RFC 9110's deflate is zlib-wrapped; some clients send raw deflate.
            let zlib = body.len() >= 2
                && body[0] & 0x0f == 8
                && (u16::from(body[0]) << 8 | u16::from(body[1])) % 31 == 0;
            if zlib {
                read_capped(flate2::read::ZlibDecoder::new(body), max)
            } else {
                read_capped(flate2::read::DeflateDecoder::new(body), max)
            }
        }
        "br" => read_capped(brotli::Decompressor::new(body, 4096), max),
        other => Err(BodyError::UnsupportedEncoding(other.to_owned())),
    }
}

fn read_capped(reader: impl Read, max: usize) -> Result<Vec<u8>, BodyError> {
    let mut out = Vec::new();
    reader
        .take(max as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|error| BodyError::Corrupt(error.to_string()))?;
    if out.len() > max {
        return Err(BodyError::TooLarge(max));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn each_encoding_round_trips() {
        let text = b"{\"type\":\"event\"}\n{}".repeat(50);
        assert_eq!(decode(Some("gzip"), &gzip(&text), 10_000).unwrap(), text);
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        zlib.write_all(&text).unwrap();
        assert_eq!(
            decode(Some("deflate"), &zlib.finish().unwrap(), 10_000).unwrap(),
            text
        );
        let mut raw =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        raw.write_all(&text).unwrap();
        assert_eq!(
            decode(Some("deflate"), &raw.finish().unwrap(), 10_000).unwrap(),
            text
        );
        let mut br = brotli::CompressorWriter::new(Vec::new(), 4096, 5, 22);
        br.write_all(&text).unwrap();
        assert_eq!(decode(Some("br"), &br.into_inner(), 10_000).unwrap(), text);
        assert_eq!(decode(None, &text, 10_000).unwrap(), text);
    }

    #[test]
    fn bombs_and_oversize_bodies_stop_at_the_cap() {
        let bomb = gzip(&vec![0u8; 20 * 1024 * 1024]);
        assert!(bomb.len() < 100_000);
        assert_eq!(
            decode(Some("gzip"), &bomb, 1024 * 1024),
            Err(BodyError::TooLarge(1024 * 1024))
        );
        assert_eq!(decode(None, &[b'x'; 11], 10), Err(BodyError::TooLarge(10)));
    }

    #[test]
    fn unknown_or_corrupt_encodings_are_refused() {
        assert_eq!(
            decode(Some("zstd"), b"x", 10),
            Err(BodyError::UnsupportedEncoding("zstd".into()))
        );
        assert!(matches!(
            decode(Some("gzip"), b"not gzip", 10),
            Err(BodyError::Corrupt(_))
        ));
    }
}
