//! Secrets Beacon must read back — an SSO connection's client secret, later a channel's token —
//! are stored sealed: AES-256-GCM under a key that is never in the database
//! (`BEACON_SECRET_KEY`, or `<data>/secret.key` created on first start). A copy of the
//! database alone reveals none of them.
//!
//! Each sealed value is `nonce (12 bytes) ‖ ciphertext ‖ tag`, with a random nonce, and is bound
//! to where it belongs (its `context`, e.g. `sso:oidc:<org>`) as associated data: a sealed
//! secret copied into another organization's row does not open there.

use std::path::Path;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;

/// Bytes in a key.
pub const KEY_BYTES: usize = 32;

/// The key that seals and opens stored secrets.
pub struct SealingKey(LessSafeKey);

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKey(..)")
    }
}

/// Why a sealed value did not open.
#[derive(Debug, thiserror::Error)]
#[error("the stored secret cannot be opened with this server's BEACON_SECRET_KEY")]
pub struct OpenError;

impl SealingKey {
    /// A key from its text: 32 bytes as base64 (44 characters) or hex (64 characters).
    pub fn from_text(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let bytes = if text.len() == 2 * KEY_BYTES {
            hex::decode(text).map_err(|e| e.to_string())?
        } else {
            STANDARD.decode(text).map_err(|e| e.to_string())?
        };
        Self::from_bytes(&bytes)
    }

    fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        if bytes.len() != KEY_BYTES {
            return Err(format!(
                "a secret key is {KEY_BYTES} bytes, as base64 or hex (e.g. `openssl rand -base64 32`)"
            ));
        }
        UnboundKey::new(&AES_256_GCM, bytes)
            .map(|key| Self(LessSafeKey::new(key)))
            .map_err(|_| "the secret key was refused".to_owned())
    }

    /// A new random key and its text (base64), for a first start.
    pub fn generate() -> (Self, String) {
        let mut bytes = [0u8; KEY_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        let text = STANDARD.encode(bytes);
        match Self::from_bytes(&bytes) {
            Ok(key) => (key, text),
            // 32 bytes are always an AES-256 key.
            Err(why) => unreachable!("{why}"),
        }
    }

    /// The key in `path`, created (mode 0600) with a random key when the file does not exist.
    pub fn load_or_create(path: &Path) -> anyhow::Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::from_text(&text)
                .map_err(|why| anyhow::anyhow!("the key in {}: {why}", path.display())),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let (key, text) = Self::generate();
                write_private(path, &text)?;
                tracing::info!(path = %path.display(), "created the secret key");
                Ok(key)
            }
            Err(error) => Err(anyhow::anyhow!("reading {}: {error}", path.display())),
        }
    }

    /// Seals `secret` for `context`.
    pub fn seal(&self, secret: &[u8], context: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let mut sealed = secret.to_vec();
        // Sealing fails only for inputs past GCM's limit (64 GiB); secrets are short.
        if self
            .0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut sealed,
            )
            .is_err()
        {
            return Vec::new();
        }
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens what [`seal`](Self::seal) made for the same `context`.
    pub fn open(&self, sealed: &[u8], context: &str) -> Result<Vec<u8>, OpenError> {
        if sealed.len() < NONCE_LEN {
            return Err(OpenError);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| OpenError)?;
        let mut body = body.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut body)
            .map_err(|_| OpenError)?;
        Ok(plain.to_vec())
    }
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .map_err(|e| anyhow::anyhow!("creating {}: {e}", path.display()))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_context() {
        let (key, text) = SealingKey::generate();
        let sealed = key.seal(b"client-secret", "sso:oidc:a");
        assert!(!sealed.windows(13).any(|w| w == b"client-secret"));
        assert_eq!(key.open(&sealed, "sso:oidc:a").unwrap(), b"client-secret");
        // Positive control above; now the same check with the wrong context and key.
        assert!(key.open(&sealed, "sso:oidc:b").is_err());
        let (other, _) = SealingKey::generate();
        assert!(other.open(&sealed, "sso:oidc:a").is_err());
        let again = SealingKey::from_text(&text).unwrap();
        assert_eq!(again.open(&sealed, "sso:oidc:a").unwrap(), b"client-secret");
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(key.open(&tampered, "sso:oidc:a").is_err());
        assert!(key.open(b"short", "sso:oidc:a").is_err());
    }

    #[test]
    fn keys_are_32_bytes_of_base64_or_hex() {
        assert!(SealingKey::from_text(&"ab".repeat(32)).is_ok());
        assert!(SealingKey::from_text("c2hvcnQ=").is_err());
        assert!(SealingKey::from_text("not base64!").is_err());
    }

    #[test]
    fn a_missing_key_file_is_created_private_and_read_back() {
        let dir = std::env::temp_dir().join(format!("beacon-key-{}", uuid::Uuid::new_v4()));
        let path = dir.join("secret.key");
        let first = SealingKey::load_or_create(&path).unwrap();
        let sealed = first.seal(b"x", "c");
        let second = SealingKey::load_or_create(&path).unwrap();
        assert_eq!(second.open(&sealed, "c").unwrap(), b"x");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
