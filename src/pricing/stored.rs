//! The price table `ccbreaker prices update` wrote (`prices.bin` in the state directory), which the hook and the
//! reports lay over the built-in table. A fixed little-endian layout (read word by word: a general decoder cost a
//! hook call about 30,000 instructions for 30 models) under a checksum, so that loading it costs a hook call next
//! to nothing and a damaged file is noticed (and ignored: the built-in prices apply) rather than trusted.

use super::{LongContext, Rates};
use crate::files::{self, Durability};
use chrono::{Datelike, NaiveDate};
use std::path::{Path, PathBuf};

/// The file name in the state directory.
pub(crate) const FILE_NAME: &str = "prices.bin";
const MAGIC: &[u8; 4] = b"CCBP";
/// Bumped whenever the layout changes; a file of another version is ignored until the next update.
const VERSION: u32 = 2;
/// A file larger than this is not read.
const MAX_BYTES: u64 = 4 << 20;

/// An updated price table.
#[derive(Debug, Clone, PartialEq)]
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
    decode(body).map(Some).ok_or_else(|| damaged("could not be decoded"))
}

/// Writes `stored` into `state_dir`, replacing the file whole (synced: it is a person's decision).
pub(crate) fn save(state_dir: &Path, stored: &Stored) -> Result<PathBuf, StoredError> {
    let path = path(state_dir);
    let body = encode(stored);
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

/// The body: source, time, row count, then each row: its name, five rates, the long-context tier (a flag, the
/// threshold, five rates, the day the premium ends or -1), the fast multiplier and the US flag.
fn encode(stored: &Stored) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + stored.rows.len() * 160);
    let text = |out: &mut Vec<u8>, s: &str| {
        out.extend_from_slice(&(s.len() as u32).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    };
    let word = |out: &mut Vec<u8>, w: u64| out.extend_from_slice(&w.to_le_bytes());
    text(&mut out, &stored.source);
    word(&mut out, stored.updated_at as u64);
    word(&mut out, stored.rows.len() as u64);
    for (name, r) in &stored.rows {
        text(&mut out, name);
        for w in [r.input, r.output, r.cache_write_5m, r.cache_write_1h, r.cache_read] {
            word(&mut out, w);
        }
        let long = r.long_context.unwrap_or(LongContext {
            above_prompt_tokens: 0,
            input: 0,
            output: 0,
            cache_write_5m: 0,
            cache_write_1h: 0,
            cache_read: 0,
            until: None,
        });
        word(&mut out, u64::from(r.long_context.is_some()));
        for w in [
            long.above_prompt_tokens,
            long.input,
            long.output,
            long.cache_write_5m,
            long.cache_write_1h,
            long.cache_read,
        ] {
            word(&mut out, w);
        }
        word(&mut out, long.until.map_or(u64::MAX, |d| d.num_days_from_ce() as u32 as u64));
        word(&mut out, u64::from(r.fast_multiplier));
        word(&mut out, u64::from(r.us_geo_multiplier));
    }
    out
}

fn decode(body: &[u8]) -> Option<Stored> {
    let mut r = Reader { bytes: body, at: 0 };
    let source = r.text()?;
    let updated_at = r.word()? as i64;
    let count = r.word()? as usize;
    // A row takes at least 130 bytes: a count larger than the body can hold is damage.
    if count > body.len() / 130 {
        return None;
    }
    let mut rows = Vec::with_capacity(count);
    for _ in 0..count {
        let name = r.text()?;
        let [input, output, cache_write_5m, cache_write_1h, cache_read] = r.words()?;
        let has_long = r.word()? == 1;
        let [above_prompt_tokens, l_input, l_output, l_5m, l_1h, l_read] = r.words()?;
        let until = match r.word()? {
            u64::MAX => None,
            day => Some(NaiveDate::from_num_days_from_ce_opt(i32::try_from(day).ok()?)?),
        };
        let long_context = has_long.then_some(LongContext {
            above_prompt_tokens,
            input: l_input,
            output: l_output,
            cache_write_5m: l_5m,
            cache_write_1h: l_1h,
            cache_read: l_read,
            until,
        });
        let fast_multiplier = u32::try_from(r.word()?).ok()?;
        let us_geo_multiplier = r.word()? == 1;
        let rates = Rates {
            input,
            output,
            cache_write_5m,
            cache_write_1h,
            cache_read,
            long_context,
            fast_multiplier,
            us_geo_multiplier,
        };
        rows.push((name, rates));
    }
    (r.at == body.len()).then_some(Stored { source, updated_at, rows })
}

/// Reads the body's words and strings in order.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let bytes = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(bytes)
    }

    fn word(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn words<const N: usize>(&mut self) -> Option<[u64; N]> {
        let mut words = [0; N];
        for w in &mut words {
            *w = self.word()?;
        }
        Some(words)
    }

    fn text(&mut self) -> Option<String> {
        let len = u32::from_le_bytes(self.take(4)?.try_into().ok()?) as usize;
        String::from_utf8(self.take(len)?.to_vec()).ok()
    }
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
            rows: vec![
                ("claude-x".into(), Rates::from_usd_per_mtok(1.0, 2.0, None, None, None)),
                ("claude-y".into(), crate::pricing::PriceTable::builtin().rates("claude-opus-4-6").copied().unwrap()),
            ],
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
