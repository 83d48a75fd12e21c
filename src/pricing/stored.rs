//! The price table `ccbreaker prices update` wrote (`prices.bin` in the state directory), which the hook and the
//! reports lay over the built-in table. Compact and checksummed, so that loading it costs a hook call next to
//! nothing and a damaged file is noticed (and ignored: the built-in prices apply) rather than trusted.

use super::Rates;
use crate::files::{self, Durability};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The file name in the state directory.
pub(crate) const FILE_NAME: &str = "prices.bin";
const MAGIC: &[u8; 4] = b"CCBP";
/// Bumped whenever the layout changes; a file of another version is ignored until the next update.
const VERSION: u32 = 1;
/// A file larger than this is not read.
const MAX_BYTES: u64 = 4 << 20;

/// An updated price table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Stored {
    /// Where it was read from: a file path or a URL.
    pub source: String,
    /// When (Unix seconds).
    pub updated_at: i64,
    /// Model name and rates, sorted by name.
    pub rows: Vec<(String, Rates)>,
}

/// Why the stored table could not be used.
#[derive(Debug, thiserror::Error)]
pub(crate) enum StoredError {
    #[error("could not read `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{path}` {why}; the built-in prices apply (run `ccbreaker prices update` again)")]
    Damaged { path: PathBuf, why: &'static str },
    #[error("could not write `{path}`")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub(crate) fn path(state_dir: &Path) -> PathBuf {
    state_dir.join(FILE_NAME)
}

/// The stored table in `state_dir`, if there is one.
pub(crate) fn load(state_dir: &Path) -> Result<Option<Stored>, StoredError> {
    let path = path(state_dir);
    let bytes = match files::read_capped(&path, MAX_BYTES) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Err(StoredError::Damaged { path, why: "is too large" }),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(StoredError::Read { path, source }),
    };
    let damaged = |why| StoredError::Damaged { path: path.clone(), why };
    let rest = bytes.strip_prefix(MAGIC.as_slice()).ok_or_else(|| damaged("is not a ccbreaker price table"))?;
    let word = |at: usize| rest.get(at..at + 8).map(|w| u64::from_le_bytes(w.try_into().expect("8 bytes")));
    let version = rest.get(..4).map(|v| u32::from_le_bytes(v.try_into().expect("4 bytes")));
    if version != Some(VERSION) {
        return Err(damaged("was written by another ccbreaker version"));
    }
    let (Some(len), Some(sum)) = (word(4), word(12)) else { return Err(damaged("was cut short")) };
    let body = rest.get(20..).filter(|b| b.len() as u64 == len).ok_or_else(|| damaged("was cut short"))?;
    if files::checksum(body) != sum {
        return Err(damaged("failed its checksum"));
    }
    postcard::from_bytes(body).map(Some).map_err(|_| damaged("could not be decoded"))
}

/// Writes `stored` into `state_dir`, replacing the file whole (synced: it is a person's decision).
pub(crate) fn save(state_dir: &Path, stored: &Stored) -> Result<PathBuf, StoredError> {
    let path = path(state_dir);
    let body = postcard::to_allocvec(stored).expect("a price table always serialises");
    let mut bytes = Vec::with_capacity(body.len() + 24);
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&VERSION.to_le_bytes());
    bytes.extend_from_slice(&(body.len() as u64).to_le_bytes());
    bytes.extend_from_slice(&files::checksum(&body).to_le_bytes());
    bytes.extend_from_slice(&body);
    files::create_private_dir(state_dir).map_err(|source| StoredError::Write { path: path.clone(), source })?;
    files::write_atomic(&path, &bytes, Durability::Synced, None)
        .map_err(|source| StoredError::Write { path: path.clone(), source })?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_tables_load_and_damage_is_refused() {
        let dir = crate::test_dir::TestDir::new("prices-stored");
        assert!(load(dir.path()).unwrap().is_none());
        let stored = Stored {
            source: "/tmp/x.json".into(),
            updated_at: 1_790_000_000,
            rows: vec![("claude-x".into(), Rates::from_usd_per_mtok(1.0, 2.0, None, None, None))],
        };
        let path = save(dir.path(), &stored).unwrap();
        assert_eq!(load(dir.path()).unwrap(), Some(stored));
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert!(load(dir.path()).unwrap_err().to_string().contains("failed its checksum"));
        std::fs::write(&path, b"junk").unwrap();
        assert!(load(dir.path()).unwrap_err().to_string().contains("is not a ccbreaker price table"));
    }
}
