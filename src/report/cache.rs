//! The report cache: every transcript's [`FileSummary`] from the last report, so that the next one reads only
//! the files that changed. It lives in the state directory as `report-cache.bin`.
//!
//! - **Keyed by file identity.** A summary is reused only for the same path, device, inode, size and
//!   modification time; anything else reads the file again (whole: a summary cannot be extended).
//! - **Exact de-duplication.** A summary sums only responses whose message id appeared nowhere else when it was
//!   made, and lists their message-id hashes. A changed file sharing one of them makes the owning file be read
//!   again too, so every response that the duplicate rule could touch is judged one by one, as the hook does.
//! - **Versioned and fingerprinted.** The header holds a format version and a fingerprint of the prices (the
//!   built-in table, `[pricing]` overrides) and of the ccbreaker binary; a mismatch discards the whole cache.
//! - **Checked and atomic.** The payload carries its length and a checksum, and decoding checks every count and
//!   index; a file that fails is ignored and rebuilt. It is written to a temp file and renamed into place, so a
//!   concurrent report sees the old cache or the new one (the last writer wins, which is harmless for a cache).
//!
//! The format is little-endian binary: loading a cache of a few megabytes must take milliseconds.

use super::summary::{Bucket, Entry, FileSummary, Identity, Part};
use crate::files::{self, Durability};
use crate::transcript::ResponseKey;
use crate::usage::{Pico, Usage};
use std::path::Path;

const MAGIC: &[u8; 8] = b"ccbrrpt\n";
/// Bumped whenever the layout or the meaning of a field changes.
pub(crate) const VERSION: u32 = 2;
const HEADER: usize = 8 + 4 + 8 + 8 + 8;
/// A cache larger than this is not read (it would be about 50 GB of transcripts).
const MAX_BYTES: u64 = 1 << 30;

/// The file name in the state directory.
pub(crate) const FILE_NAME: &str = "report-cache.bin";

/// What loading found.
#[derive(Debug)]
pub(crate) enum Loaded {
    Missing,
    Valid(Vec<FileSummary>),
    /// Made by another version, or with other prices: discarded without a word.
    Stale,
    /// Unreadable or damaged: the reason, which the report notes.
    Damaged(String),
}

/// Why a cache's bytes cannot be used.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Unusable {
    Stale,
    Damaged(String),
}

impl From<&str> for Unusable {
    fn from(why: &str) -> Unusable {
        Unusable::Damaged(why.to_owned())
    }
}

/// Reads the cache at `path`, if it was made with `fingerprint`.
pub(crate) fn load(path: &Path, fingerprint: u64) -> Loaded {
    let bytes = match std::fs::metadata(path) {
        Ok(meta) if meta.len() > MAX_BYTES => return Loaded::Damaged(format!("larger than {MAX_BYTES} bytes")),
        Ok(_) => match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(err) => return Loaded::Damaged(err.to_string()),
        },
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Loaded::Missing,
        Err(err) => return Loaded::Damaged(err.to_string()),
    };
    match decode(&bytes, fingerprint) {
        Ok(files) => Loaded::Valid(files),
        Err(Unusable::Stale) => Loaded::Stale,
        Err(Unusable::Damaged(why)) => Loaded::Damaged(why),
    }
}

/// Writes `files` to `path` atomically.
pub(crate) fn save(path: &Path, fingerprint: u64, summaries: &[FileSummary]) -> std::io::Result<()> {
    files::write_atomic(path, &encode(fingerprint, summaries), Durability::Cache, None)
}

pub(crate) fn encode(fingerprint: u64, files: &[FileSummary]) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(HEADER + files.len() * 512));
    w.0.extend_from_slice(MAGIC);
    w.u32(VERSION);
    w.u64(fingerprint);
    w.u64(0); // payload length, filled in below
    w.u64(0); // checksum
    w.u32(files.len() as u32);
    for f in files {
        w.str(&f.path);
        w.u64(f.identity.dev);
        w.u64(f.identity.ino);
        w.u64(f.identity.size);
        w.i64(f.identity.modified_ns);
        w.str(&f.session);
        w.str(&f.project);
        w.0.push(u8::from(f.subagent));
        w.u64(f.malformed);
        w.u32(f.models.len() as u32);
        for model in &f.models {
            w.str(model);
        }
        w.u32(f.buckets.len() as u32);
        for b in &f.buckets {
            w.i64(b.slot);
            w.u32(b.model);
            w.usage(&b.usage);
            w.u64(b.cost.0);
            w.u64(b.responses);
            w.u64(b.incomplete);
            w.i64(b.first_ms);
            w.i64(b.last_ms);
        }
        w.u32(f.unique.len() as u32);
        for hash in &f.unique {
            w.u64(*hash);
        }
        w.u32(f.entries.len() as u32);
        for e in &f.entries {
            w.u64(e.key.message);
            w.u64(e.key.request);
            w.i64(e.at_ms);
            w.u32(e.place);
            w.0.push(u8::from(e.sidechain) | u8::from(e.detached) << 1 | u8::from(e.incomplete) << 2);
            w.u32(e.advisor.len() as u32);
            for part in std::iter::once(&e.main).chain(&e.advisor) {
                w.u32(part.model);
                w.usage(&part.usage);
                w.u64(part.cost.0);
            }
        }
    }
    let mut bytes = w.0;
    let payload_len = (bytes.len() - HEADER) as u64;
    let sum = files::checksum(&bytes[HEADER..]);
    bytes[20..28].copy_from_slice(&payload_len.to_le_bytes());
    bytes[28..36].copy_from_slice(&sum.to_le_bytes());
    bytes
}

pub(crate) fn decode(bytes: &[u8], fingerprint: u64) -> Result<Vec<FileSummary>, Unusable> {
    let mut r = Reader { b: bytes, i: 0 };
    if r.take(8) != Some(MAGIC.as_slice()) {
        return Err("not a ccbreaker report cache".into());
    }
    let version = r.u32().ok_or("truncated header")?;
    if version != VERSION || r.u64() != Some(fingerprint) {
        // Another ccbreaker, or other prices.
        return Err(Unusable::Stale);
    }
    let length = r.u64().ok_or("truncated header")?;
    let sum = r.u64().ok_or("truncated header")?;
    let payload = &bytes[HEADER..];
    if payload.len() as u64 != length || files::checksum(payload) != sum {
        return Err("damaged (length or checksum)".into());
    }
    files(&mut r).ok_or_else(|| "damaged (bad counts or indexes)".into())
}

fn files(r: &mut Reader) -> Option<Vec<FileSummary>> {
    let count = r.count(64)?;
    let mut files = Vec::with_capacity(count);
    for _ in 0..count {
        let path = r.str()?;
        let identity = Identity { dev: r.u64()?, ino: r.u64()?, size: r.u64()?, modified_ns: r.i64()? };
        let session = r.str()?;
        let project = r.str()?;
        let subagent = r.u8()? != 0;
        let malformed = r.u64()?;
        let models = (0..r.count(4)?).map(|_| r.str()).collect::<Option<Vec<_>>>()?;
        let model = |index: u32| ((index as usize) < models.len()).then_some(index);
        let buckets = (0..r.count(100)?)
            .map(|_| {
                Some(Bucket {
                    slot: r.i64()?,
                    model: model(r.u32()?)?,
                    usage: r.usage()?,
                    cost: Pico(r.u64()?),
                    responses: r.u64()?,
                    incomplete: r.u64()?,
                    first_ms: r.i64()?,
                    last_ms: r.i64()?,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        let unique = (0..r.count(8)?).map(|_| r.u64()).collect::<Option<Vec<_>>>()?;
        let entries = (0..r.count(93)?)
            .map(|_| {
                let key = ResponseKey { message: r.u64()?, request: r.u64()? };
                let at_ms = r.i64()?;
                let place = r.u32()?;
                let flags = r.u8()?;
                let advisors = r.count(60)?;
                let mut part = || Some(Part { model: model(r.u32()?)?, usage: r.usage()?, cost: Pico(r.u64()?) });
                let main = part()?;
                let advisor = (0..advisors).map(|_| part()).collect::<Option<Vec<_>>>()?;
                Some(Entry {
                    key,
                    at_ms,
                    main,
                    advisor,
                    place,
                    sidechain: flags & 1 != 0,
                    detached: flags & 2 != 0,
                    incomplete: flags & 4 != 0,
                })
            })
            .collect::<Option<Vec<_>>>()?;
        files.push(FileSummary {
            path,
            identity,
            session,
            project,
            subagent,
            malformed,
            models,
            buckets,
            unique,
            entries,
        });
    }
    (r.i == r.b.len()).then_some(files)
}

struct Writer(Vec<u8>);

impl Writer {
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.0.extend_from_slice(s.as_bytes());
    }

    fn usage(&mut self, u: &Usage) {
        for v in u.counts() {
            self.u64(v);
        }
    }
}

struct Reader<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let bytes = self.b.get(self.i..self.i.checked_add(n)?)?;
        self.i += n;
        Some(bytes)
    }

    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    fn i64(&mut self) -> Option<i64> {
        Some(i64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    /// A count of items at least `min_size` bytes each: more than the bytes left can hold means damage.
    fn count(&mut self, min_size: usize) -> Option<usize> {
        let n = self.u32()? as usize;
        (n.checked_mul(min_size)? <= self.b.len() - self.i).then_some(n)
    }

    fn str(&mut self) -> Option<String> {
        let n = self.u32()? as usize;
        String::from_utf8(self.take(n)?.to_vec()).ok()
    }

    fn usage(&mut self) -> Option<Usage> {
        Some(Usage::from_counts([self.u64()?, self.u64()?, self.u64()?, self.u64()?, self.u64()?, self.u64()?]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<FileSummary> {
        let usage = Usage {
            input_tokens: 1,
            output_tokens: 2,
            cache_creation_5m_tokens: 3,
            cache_creation_1h_tokens: 4,
            cache_read_tokens: 5,
            web_search_requests: 6,
        };
        vec![
            FileSummary {
                path: "/p/-a/s1.jsonl".into(),
                identity: Identity { dev: 1, ino: 2, size: 3, modified_ns: -4 },
                session: "s1".into(),
                project: "-a".into(),
                subagent: false,
                malformed: 7,
                models: vec!["claude-x".into(), "claude-y[1m]".into()],
                buckets: vec![Bucket {
                    slot: 99,
                    model: 1,
                    usage,
                    cost: Pico(12),
                    responses: 2,
                    incomplete: 1,
                    first_ms: 5,
                    last_ms: 9,
                }],
                unique: vec![3, 8],
                entries: vec![Entry {
                    key: ResponseKey { message: 10, request: 11 },
                    at_ms: 1_790_000_000_123,
                    main: Part { model: 0, usage, cost: Pico(13) },
                    advisor: vec![Part { model: 1, usage, cost: Pico(14) }],
                    place: 4,
                    sidechain: true,
                    detached: true,
                    incomplete: true,
                }],
            },
            FileSummary { path: "/p/-a/s1/subagents/agent-1.jsonl".into(), subagent: true, ..FileSummary::default() },
        ]
    }

    #[test]
    fn round_trips() {
        let files = sample();
        assert_eq!(decode(&encode(42, &files), 42).unwrap(), files);
    }

    #[test]
    fn another_fingerprint_or_version_is_refused() {
        let bytes = encode(42, &sample());
        assert_eq!(decode(&bytes, 43).unwrap_err(), Unusable::Stale);
        let mut other = bytes.clone();
        other[8..12].copy_from_slice(&(VERSION + 1).to_le_bytes());
        assert_eq!(decode(&other, 42).unwrap_err(), Unusable::Stale);
    }

    #[test]
    fn damage_is_detected_not_trusted() {
        let bytes = encode(42, &sample());
        for cut in [0, 7, HEADER, bytes.len() - 1] {
            assert!(decode(&bytes[..cut], 42).is_err(), "cut at {cut}");
        }
        for at in [HEADER + 5, bytes.len() / 2, bytes.len() - 3] {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x40;
            assert!(decode(&flipped, 42).is_err(), "flipped at {at}");
        }
    }

    #[test]
    fn a_model_index_out_of_range_is_damage() {
        let mut files = sample();
        files[0].buckets[0].model = 2;
        assert!(decode(&encode(42, &files), 42).is_err());
    }

    #[test]
    fn files_are_saved_and_loaded() {
        let dir = crate::test_dir::TestDir::new("report-cache");
        let path = dir.path().join(FILE_NAME);
        assert!(matches!(load(&path, 1), Loaded::Missing));
        save(&path, 1, &sample()).unwrap();
        assert!(matches!(load(&path, 1), Loaded::Valid(files) if files == sample()));
        assert!(matches!(load(&path, 2), Loaded::Stale));
        std::fs::write(&path, b"garbage").unwrap();
        assert!(matches!(load(&path, 1), Loaded::Damaged(why) if why == "not a ccbreaker report cache"));
    }
}
