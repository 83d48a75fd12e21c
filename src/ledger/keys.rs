//! The index of counted responses, one append-only log per UTC day of the response: 24-byte records of
//! (message-id hash, request-id hash, flags). It answers "was this response counted already, in any file?"
//! without loading every past response into the ledger.

use crate::files;
use crate::transcript::ResponseKey;
use chrono::NaiveDate;
use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

const RECORD: usize = 24;
const SIDECHAIN: u64 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Record {
    message: u64,
    request: u64,
    flags: u64,
}

/// What the index says about a response about to be counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    New,
    /// The same message and request: a copy (resume, or lines of one response split over files).
    Duplicate,
    /// The same message under another request id, one of them from a sidechain: a subagent's replay of its
    /// parent's messages, never billed twice.
    Replay,
}

/// The duplicate rule, shared by the hook's key logs and the reports' in-memory index: what a response is, given
/// the responses with its message id counted before it (request-id hash and sidechain flag of each, in order).
/// The same message under another request id, both on the main chain, is a distinct response (a gateway reusing
/// ids), so only a same-request or sidechain match makes it a copy.
pub(crate) fn judge(earlier: impl IntoIterator<Item = (u64, bool)>, request: u64, sidechain: bool) -> Seen {
    earlier
        .into_iter()
        .find_map(|(earlier_request, earlier_sidechain)| {
            if earlier_request == request {
                Some(Seen::Duplicate)
            } else if sidechain || earlier_sidechain {
                Some(Seen::Replay)
            } else {
                None
            }
        })
        .unwrap_or(Seen::New)
}

/// One day's log: the committed records as they are on disk, read only when a lookup needs them (records are
/// decoded only where the message id matches: a hook looks up a few responses in thousands), then the records
/// this call adds.
#[derive(Debug, Default)]
struct DayLog {
    /// The committed records (once loaded) followed by the new ones; before loading, only the new ones.
    bytes: Vec<u8>,
    loaded: bool,
    committed: usize,
    by_message: Option<HashMap<u64, Vec<usize>>>,
}

fn record_of(key: ResponseKey, sidechain: bool) -> Record {
    Record { message: key.message, request: key.request, flags: if sidechain { SIDECHAIN } else { 0 } }
}

/// The key logs of the days a hook call touches, loaded lazily.
#[derive(Debug)]
pub(crate) struct KeyIndex {
    dir: PathBuf,
    days: BTreeMap<NaiveDate, DayLog>,
    lookups: usize,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum KeysError {
    #[error("could not read key log `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("could not write key log `{path}`")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("key log `{path}` holds {found} records but the ledger committed {committed}")]
    Short { path: PathBuf, found: usize, committed: usize },
}

/// Past this many lookups in one call, a hash map beats scanning the records.
const LINEAR_LOOKUPS: usize = 16;

impl KeyIndex {
    pub(crate) fn new(dir: &Path) -> KeyIndex {
        KeyIndex { dir: dir.to_path_buf(), days: BTreeMap::new(), lookups: 0 }
    }

    fn path(&self, day: NaiveDate) -> PathBuf {
        self.dir.join(format!("{day}.bin"))
    }

    /// Looks `key` up in `day`'s log (loading it, up to `committed` records) and records it if new.
    pub(crate) fn check_and_insert(
        &mut self,
        day: NaiveDate,
        committed: u64,
        key: ResponseKey,
        sidechain: bool,
    ) -> Result<Seen, KeysError> {
        self.lookups += 1;
        let path = self.path(day);
        let log = self.days.entry(day).or_insert_with(|| DayLog::unloaded(committed as usize));
        log.load(&path)?;
        let seen = log.find(key, sidechain, self.lookups > LINEAR_LOOKUPS);
        if seen == Seen::New {
            log.push(record_of(key, sidechain));
        }
        Ok(seen)
    }

    /// Records `key` as counted without looking it up: for a response appended to a file already being followed,
    /// written there (not copied in), which no other file can have counted. The day's log is not read.
    /// The log's length is still checked (one `stat`), so a damaged log is noticed without reading it.
    pub(crate) fn insert_new(
        &mut self,
        day: NaiveDate,
        committed: u64,
        key: ResponseKey,
        sidechain: bool,
    ) -> Result<(), KeysError> {
        if !self.days.contains_key(&day) {
            let path = self.path(day);
            let found = fs::metadata(&path).map(|m| m.len() as usize / RECORD).unwrap_or(0);
            if found < committed as usize {
                return Err(KeysError::Short { path, found, committed: committed as usize });
            }
        }
        let log = self.days.entry(day).or_insert_with(|| DayLog::unloaded(committed as usize));
        log.push(record_of(key, sidechain));
        Ok(())
    }

    /// Appends the new records of every day to its log; returns the new committed lengths to store in the ledger.
    /// Records past the old committed length (from a hook that died before committing) are cut off first.
    pub(crate) fn write(&mut self) -> Result<Vec<(NaiveDate, u64)>, KeysError> {
        let mut lengths = Vec::new();
        for (day, log) in &mut self.days {
            let fresh = log.fresh();
            if fresh.is_empty() {
                continue;
            }
            let path = self.dir.join(format!("{day}.bin"));
            let write_err = |source| KeysError::Write { path: path.clone(), source };
            let mut file = open_log(&path).map_err(write_err)?;
            let committed = (log.committed * RECORD) as u64;
            if file.metadata().map_err(write_err)?.len() != committed {
                file.set_len(committed).map_err(write_err)?;
            }
            use std::io::Seek;
            file.seek(io::SeekFrom::End(0)).map_err(write_err)?;
            file.write_all(fresh).map_err(write_err)?;
            log.commit();
            lengths.push((*day, log.committed as u64));
        }
        Ok(lengths)
    }

    /// Deletes the logs of days before `keep_from`.
    pub(crate) fn prune(dir: &Path, keep_from: NaiveDate) {
        let Ok(entries) = fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(day) = name.to_str().and_then(|n| n.strip_suffix(".bin")) else { continue };
            if day.parse::<NaiveDate>().is_ok_and(|d| d < keep_from) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

impl DayLog {
    fn unloaded(committed: usize) -> DayLog {
        DayLog { committed, ..DayLog::default() }
    }

    /// Reads the committed records in front of the new ones, once.
    fn load(&mut self, path: &Path) -> Result<(), KeysError> {
        if !self.loaded {
            let mut disk = read_committed(path, self.committed)?;
            disk.extend_from_slice(&self.bytes);
            self.bytes = disk;
            self.loaded = true;
            self.by_message = None;
        }
        Ok(())
    }

    /// The records not yet written.
    fn fresh(&self) -> &[u8] {
        if self.loaded { &self.bytes[self.committed * RECORD..] } else { &self.bytes }
    }

    fn commit(&mut self) {
        self.committed += self.fresh().len() / RECORD;
        if !self.loaded {
            self.bytes.clear();
        }
    }

    fn len(&self) -> usize {
        self.bytes.len() / RECORD
    }

    fn record(&self, i: usize) -> Record {
        let at = i * RECORD;
        Record { message: word(&self.bytes, at), request: word(&self.bytes, at + 8), flags: word(&self.bytes, at + 16) }
    }

    fn find(&mut self, key: ResponseKey, sidechain: bool, many: bool) -> Seen {
        if many && self.by_message.is_none() {
            let mut map: HashMap<u64, Vec<usize>> = HashMap::with_capacity(self.len());
            for i in 0..self.len() {
                map.entry(word(&self.bytes, i * RECORD)).or_default().push(i);
            }
            self.by_message = Some(map);
        }
        let earlier = |i: usize| {
            let r = self.record(i);
            (r.request, r.flags & SIDECHAIN != 0)
        };
        match &self.by_message {
            Some(map) => {
                judge(map.get(&key.message).into_iter().flatten().map(|&i| earlier(i)), key.request, sidechain)
            }
            None => judge(
                (0..self.len()).filter(|&i| word(&self.bytes, i * RECORD) == key.message).map(earlier),
                key.request,
                sidechain,
            ),
        }
    }

    fn push(&mut self, record: Record) {
        let index = self.len();
        if let Some(map) = &mut self.by_message {
            map.entry(record.message).or_default().push(index);
        }
        for value in [record.message, record.request, record.flags] {
            self.bytes.extend_from_slice(&value.to_le_bytes());
        }
    }
}

/// The little-endian u64 at `at`.
fn word(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

fn open_log(path: &Path) -> io::Result<File> {
    let open = || files::private_options().read(true).write(true).create(true).truncate(false).open(path);
    match open() {
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            // The keys directory is made on the first write.
            files::create_private_dir(path.parent().unwrap_or(Path::new(".")))?;
            open()
        }
        other => other,
    }
}

/// The first `committed` records of a log file (an error if it holds fewer).
fn read_committed(path: &Path, committed: usize) -> Result<Vec<u8>, KeysError> {
    let mut bytes = Vec::new();
    match File::open(path) {
        Ok(mut file) => {
            let len = file.metadata().map(|m| m.len() as usize).unwrap_or(0);
            bytes.reserve_exact(len.max(committed * RECORD));
            file.read_to_end(&mut bytes).map_err(|source| KeysError::Read { path: path.to_path_buf(), source })?;
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(source) => return Err(KeysError::Read { path: path.to_path_buf(), source }),
    }
    let found = bytes.len() / RECORD;
    if found < committed {
        return Err(KeysError::Short { path: path.to_path_buf(), found, committed });
    }
    bytes.truncate(committed * RECORD);
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(m: u64, r: u64) -> ResponseKey {
        ResponseKey { message: m, request: r }
    }

    fn temp_dir(name: &str) -> crate::test_dir::TestDir {
        crate::test_dir::TestDir::new(name)
    }

    #[test]
    fn duplicates_replays_and_reused_ids() {
        let tmp = temp_dir("kinds");
        let dir = tmp.path();
        let day = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let mut index = KeyIndex::new(dir);
        assert_eq!(index.check_and_insert(day, 0, key(1, 1), false).unwrap(), Seen::New);
        assert_eq!(index.check_and_insert(day, 0, key(1, 1), false).unwrap(), Seen::Duplicate);
        assert_eq!(index.check_and_insert(day, 0, key(1, 2), true).unwrap(), Seen::Replay);
        assert_eq!(index.check_and_insert(day, 0, key(1, 3), false).unwrap(), Seen::New);
    }

    #[test]
    fn the_rule_looks_at_the_first_match() {
        assert_eq!(judge([], 1, false), Seen::New);
        assert_eq!(judge([(2, false)], 1, false), Seen::New);
        assert_eq!(judge([(2, false), (1, false)], 1, false), Seen::Duplicate);
        assert_eq!(judge([(2, true), (1, false)], 1, false), Seen::Replay);
        assert_eq!(judge([(2, false)], 1, true), Seen::Replay);
        assert_eq!(judge([(1, true)], 1, true), Seen::Duplicate);
    }

    #[test]
    fn committed_records_survive_and_uncommitted_ones_are_cut() {
        let tmp = temp_dir("commit");
        let dir = tmp.path();
        let day = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let mut index = KeyIndex::new(dir);
        index.check_and_insert(day, 0, key(1, 1), false).unwrap();
        index.check_and_insert(day, 0, key(2, 2), false).unwrap();
        assert_eq!(index.write().unwrap(), vec![(day, 2)]);
        // A hook that appended a record and died before committing the ledger:
        let mut later = KeyIndex::new(dir);
        later.check_and_insert(day, 2, key(3, 3), false).unwrap();
        later.write().unwrap();
        // The ledger still says 2: record 3 is not counted, and the next write replaces it.
        let mut again = KeyIndex::new(dir);
        assert_eq!(again.check_and_insert(day, 2, key(2, 2), false).unwrap(), Seen::Duplicate);
        assert_eq!(again.check_and_insert(day, 2, key(3, 3), false).unwrap(), Seen::New);
        assert_eq!(again.write().unwrap(), vec![(day, 3)]);
        assert_eq!(fs::metadata(dir.join("2026-11-24.bin")).unwrap().len(), 72);
    }

    #[test]
    fn records_added_without_a_lookup_are_written_and_found_later() {
        let tmp = temp_dir("unchecked");
        let dir = tmp.path();
        let day = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let mut first = KeyIndex::new(dir);
        first.check_and_insert(day, 0, key(1, 1), false).unwrap();
        assert_eq!(first.write().unwrap(), vec![(day, 1)]);
        let mut hot = KeyIndex::new(dir);
        hot.insert_new(day, 1, key(2, 2), false).unwrap();
        // A lookup later in the same call reads the committed records in front of the unwritten one.
        assert_eq!(hot.check_and_insert(day, 1, key(2, 2), false).unwrap(), Seen::Duplicate);
        assert_eq!(hot.check_and_insert(day, 1, key(1, 1), false).unwrap(), Seen::Duplicate);
        assert_eq!(hot.write().unwrap(), vec![(day, 2)]);
        let mut unloaded = KeyIndex::new(dir);
        unloaded.insert_new(day, 2, key(3, 3), false).unwrap();
        assert_eq!(unloaded.write().unwrap(), vec![(day, 3)]);
        let mut again = KeyIndex::new(dir);
        for k in 1..=3 {
            assert_eq!(again.check_and_insert(day, 3, key(k, k), false).unwrap(), Seen::Duplicate);
        }
        assert!(matches!(KeyIndex::new(dir).insert_new(day, 9, key(4, 4), false), Err(KeysError::Short { .. })));
    }

    #[test]
    fn a_log_shorter_than_committed_is_an_error() {
        let tmp = temp_dir("short");
        let dir = tmp.path();
        let day = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let mut index = KeyIndex::new(dir);
        let err = index.check_and_insert(day, 5, key(1, 1), false).unwrap_err();
        assert!(matches!(err, KeysError::Short { found: 0, committed: 5, .. }));
    }

    #[test]
    fn many_lookups_use_the_map() {
        let tmp = temp_dir("many");
        let dir = tmp.path();
        let day = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let mut index = KeyIndex::new(dir);
        for i in 0..100 {
            assert_eq!(index.check_and_insert(day, 0, key(i, i), false).unwrap(), Seen::New);
        }
        for i in 0..100 {
            assert_eq!(index.check_and_insert(day, 0, key(i, i), false).unwrap(), Seen::Duplicate);
        }
    }
}
