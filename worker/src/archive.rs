//! A gzip-compressed tar archive (POSIX ustar), written one whole file at a time: what
//! organization exports are delivered as (every system opens `.tar.gz`: `tar -xzf`, macOS's
//! Archive Utility, Windows 10's `tar`). Each member's size must be known before it is written,
//! so large members are first written to a temporary file ([`Archive::append_file`]).

use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;

/// Largest member ustar's 11 octal digits can state (8 GiB − 1).
pub const MAX_MEMBER: u64 = 0o77777777777;

/// An archive being written to a file.
pub struct Archive {
    out: GzEncoder<BufWriter<File>>,
    mtime: u64,
}

impl Archive {
    /// Starts an archive at `path`; every member gets the modification time `mtime` (seconds).
    pub fn create(path: &Path, mtime: u64) -> io::Result<Self> {
        let file = File::create(path)?;
        Ok(Self {
            out: GzEncoder::new(BufWriter::new(file), Compression::default()),
            mtime,
        })
    }

    /// Adds a member `name` holding `bytes`.
    pub fn append_bytes(&mut self, name: &str, bytes: &[u8]) -> io::Result<()> {
        self.header(name, bytes.len() as u64)?;
        self.out.write_all(bytes)?;
        self.pad(bytes.len() as u64)
    }

    /// Adds a member `name` holding the file at `path` (read in full, in order).
    pub fn append_file(&mut self, name: &str, path: &Path) -> io::Result<()> {
        let mut file = File::open(path)?;
        let size = file.metadata()?.len();
        self.header(name, size)?;
        let copied = io::copy(&mut (&mut file).take(size), &mut self.out)?;
        if copied != size {
            return Err(io::Error::other(format!(
                "{name} shrank while being archived"
            )));
        }
        self.pad(size)
    }

    /// Ends the archive (two zero blocks) and flushes it to disk.
    pub fn finish(mut self) -> io::Result<()> {
        self.out.write_all(&[0; 1024])?;
        let file = self.out.finish()?;
        let file = file.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()
    }

    fn header(&mut self, name: &str, size: u64) -> io::Result<()> {
        if name.len() > 100 || name.is_empty() || !name.is_ascii() {
            return Err(io::Error::other(format!(
                "member name {name:?} does not fit ustar"
            )));
        }
        if size > MAX_MEMBER {
            return Err(io::Error::other(format!(
                "{name} is larger than ustar allows"
            )));
        }
        let mut header = [0u8; 512];
        header[..name.len()].copy_from_slice(name.as_bytes());
        octal(&mut header[100..108], 0o644);
        octal(&mut header[108..116], 0);
        octal(&mut header[116..124], 0);
        octal(&mut header[124..136], size);
        octal(&mut header[136..148], self.mtime);
        header[148..156].copy_from_slice(b"        ");
        header[156] = b'0';
        header[257..263].copy_from_slice(b"ustar\0");
        header[263..265].copy_from_slice(b"00");
        let sum: u64 = header.iter().map(|b| u64::from(*b)).sum();
        octal(&mut header[148..155], sum);
        header[155] = b' ';
        self.out.write_all(&header)
    }

    fn pad(&mut self, size: u64) -> io::Result<()> {
        let rest = (512 - size % 512) % 512;
        self.out.write_all(&vec![0; rest as usize])
    }
}

/// Writes `value` in octal, zero-padded, into `field` ending with NUL.
fn octal(field: &mut [u8], value: u64) {
    let digits = field.len() - 1;
    let text = format!("{value:0digits$o}");
    field[..digits].copy_from_slice(&text.as_bytes()[text.len() - digits..]);
    field[digits] = 0;
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::GzDecoder;

    #[test]
    fn members_round_trip_with_valid_headers() {
        let dir = std::env::temp_dir().join(format!("beacon-archive-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.tar.gz");
        let big = dir.join("big");
        std::fs::write(&big, vec![b'x'; 1300]).unwrap();
        let mut archive = Archive::create(&path, 1_700_000_000).unwrap();
        archive.append_bytes("README.txt", b"hello").unwrap();
        archive.append_file("big.jsonl", &big).unwrap();
        archive.finish().unwrap();
        let mut raw = Vec::new();
        GzDecoder::new(File::open(&path).unwrap())
            .read_to_end(&mut raw)
            .unwrap();
        // Header, 5 bytes padded to a block, header, 1300 bytes padded to 3 blocks, 2 zero blocks.
        assert_eq!(raw.len(), 512 + 512 + 512 + 1536 + 1024);
        assert_eq!(&raw[..10], b"README.txt");
        assert_eq!(&raw[124..135], b"00000000005");
        assert_eq!(&raw[512..517], b"hello");
        let sum: u64 = raw[..512]
            .iter()
            .enumerate()
            .map(|(i, b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    u64::from(*b)
                }
            })
            .sum();
        let stored = u64::from_str_radix(std::str::from_utf8(&raw[148..154]).unwrap(), 8).unwrap();
        assert_eq!(stored, sum);
        assert!(
            Archive::create(&dir.join("b"), 0)
                .unwrap()
                .append_bytes(&"n".repeat(101), b"")
                .is_err()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
