//! The index of counted responses: per UTC day, what was counted and how. It answers "was this response counted
//! already, in any file, and as what?" without loading every past response into the ledger, so that a later line
//! of a response (a final record, a copy, a line appended by someone else) can re-price it, move it to the session
//! that made it, or be skipped, exactly as the reports decide.
//!
//! Two append-only files per day, in step: `keys/<day>.ids` holds the message-id hash of every record (8 bytes),
//! the only column a lookup scans; `keys/<day>.rec` holds the rest of each record (what was counted: request,
//! flags, session, time, cost, usage; [`RECORD`] bytes), read one record at a time where an id matches. A later
//! record of the same response supersedes the earlier one. Only the record count the ledger committed is trusted:
//! records past it (a hook killed before its ledger was saved) are written over by the next write, never read.

use crate::files;
use crate::usage::{Pico, Usage};
use chrono::{Datelike, NaiveDate};
use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File};
use std::io::{self, Read, Seek};
use std::path::{Path, PathBuf};

/// Bytes of one record in `<day>.rec`.
const RECORD: usize = 14 * 8;
const ID: usize = 8;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;

/// One response's identity as the duplicate rule sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub request: u64,
    pub sidechain: bool,
    /// Its time, in milliseconds since the Unix epoch.
    pub at_ms: i64,
}

/// What the duplicate rule says of a response about to be counted, given the responses with its message id counted
/// before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen<T> {
    New,
    /// The same message and request: this response, as counted (the latest of its records).
    Same(T),
    /// The same message under another request id, exactly one of the two on a sidechain: a subagent's replay of its
    /// parent's messages, never billed twice.
    Replay,
}

/// Whether two lines are close enough in time to be one response: on the same UTC day, or less than an hour apart
/// (a response whose lines straddle midnight). Copies keep their original's timestamps.
pub(crate) fn close(a_ms: i64, b_ms: i64) -> bool {
    a_ms.div_euclid(DAY_MS) == b_ms.div_euclid(DAY_MS) || (a_ms - b_ms).abs() < HOUR_MS
}

/// The duplicate rule, shared by the hook's key logs and the reports' in-memory index: what `me` is, given the
/// responses with its message id counted before it (in order, each with what to answer for it). The same message
/// and request id close in time is the same response; the same message under another request id is a replay only
/// when one of the two is a sidechain line and the other is not (a gateway that reuses message ids, in the main
/// chain or inside one subagent, makes distinct responses).
pub(crate) fn judge<T>(earlier: impl IntoIterator<Item = (Candidate, T)>, me: Candidate) -> Seen<T> {
    let mut same = None;
    let mut replay = false;
    for (earlier, value) in earlier {
        if !close(earlier.at_ms, me.at_ms) {
            continue;
        }
        if earlier.request == me.request {
            same = Some(value);
        } else if earlier.sidechain != me.sidechain {
            replay = true;
        }
    }
    match same {
        Some(value) => Seen::Same(value),
        None if replay => Seen::Replay,
        None => Seen::New,
    }
}

/// What was counted for one response: enough to judge a later line of it, and to take the counted spend back out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Record {
    pub request: u64,
    pub sidechain: bool,
    /// Counted from a copy (a line whose parent is elsewhere): the file that made it may still claim it.
    pub copy: bool,
    /// Claude Code never wrote its final usage (as far as was read).
    pub incomplete: bool,
    /// A tag of the counted reading's model, to notice a later line that names another.
    pub model: u32,
    /// The local day its spend is in.
    pub day: NaiveDate,
    /// Hash of the session it is counted for.
    pub session: u64,
    /// Hash of the path of the file it was counted from.
    pub file: u64,
    pub at_ms: i64,
    pub cost: Pico,
    /// Pico-dollars per output token, for the estimate of an incomplete response.
    pub rate: u64,
    pub usage: Usage,
}

impl Record {
    pub(crate) fn candidate(&self) -> Candidate {
        Candidate { request: self.request, sidechain: self.sidechain, at_ms: self.at_ms }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let flags = u64::from(self.sidechain)
            | u64::from(self.copy) << 1
            | u64::from(self.incomplete) << 2
            | u64::from(self.model) << 32;
        let head = [
            self.request,
            flags,
            self.day.num_days_from_ce() as u32 as u64,
            self.session,
            self.file,
            self.at_ms as u64,
            self.cost.0,
            self.rate,
        ];
        for word in head.into_iter().chain(self.usage.counts()) {
            out.extend_from_slice(&word.to_le_bytes());
        }
    }

    fn decode(bytes: &[u8]) -> Option<Record> {
        let w = |i: usize| word(bytes, i * 8);
        let flags = w(1);
        Some(Record {
            request: w(0),
            sidechain: flags & 1 != 0,
            copy: flags & 2 != 0,
            incomplete: flags & 4 != 0,
            model: (flags >> 32) as u32,
            day: NaiveDate::from_num_days_from_ce_opt(w(2) as u32 as i32)?,
            session: w(3),
            file: w(4),
            at_ms: w(5) as i64,
            cost: Pico(w(6)),
            rate: w(7),
            usage: Usage::from_counts([w(8), w(9), w(10), w(11), w(12), w(13)]),
        })
    }
}

/// What [`KeyIndex::since`] finds: each record with its day log and message hash, and where each day was read
/// from.
pub(crate) type Unpushed = (Vec<(NaiveDate, u64, Record)>, BTreeMap<NaiveDate, u64>);

/// A counted response found by a lookup: its record, and the day log that holds it (where a superseding record
/// goes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Found {
    pub log: NaiveDate,
    pub record: Record,
}

/// One day's log: the committed message ids (read on the first lookup), the records this call adds, and the
/// committed records read so far (by index).
#[derive(Debug, Default)]
struct DayLog {
    committed: usize,
    ids: Option<Vec<u64>>,
    /// The `.ids` file as the first lookup opened it (read and write), for the write that follows.
    ids_file: Option<File>,
    by_message: Option<HashMap<u64, Vec<usize>>>,
    read: HashMap<usize, Record>,
    fresh: Vec<(u64, Record)>,
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

/// Past this many lookups in one call, a hash map beats scanning the ids.
const LINEAR_LOOKUPS: usize = 16;

/// The UTC day (as a date) of an instant.
fn utc_day(at_ms: i64) -> NaiveDate {
    chrono::DateTime::from_timestamp_millis(at_ms).unwrap_or_default().date_naive()
}

impl KeyIndex {
    pub(crate) fn new(dir: &Path) -> KeyIndex {
        KeyIndex { dir: dir.to_path_buf(), days: BTreeMap::new(), lookups: 0 }
    }

    fn path(&self, day: NaiveDate, ext: &str) -> PathBuf {
        self.dir.join(format!("{day}.{ext}"))
    }

    /// The day log a new response of time `at_ms` is recorded in: its UTC day.
    pub(crate) fn log_of(at_ms: i64) -> NaiveDate {
        utc_day(at_ms)
    }

    /// Judges `me` (of message hash `message`) against the responses counted before: in the log of its UTC day,
    /// and in the neighbouring day's when it is within an hour of midnight. `committed` is the ledger's committed
    /// record count per day.
    pub(crate) fn lookup(
        &mut self,
        committed: &BTreeMap<NaiveDate, u64>,
        message: u64,
        me: Candidate,
    ) -> Result<Seen<Found>, KeysError> {
        self.lookups += 1;
        let many = self.lookups > LINEAR_LOOKUPS;
        let day = utc_day(me.at_ms);
        let into_day = me.at_ms.rem_euclid(DAY_MS);
        let mut days = Vec::with_capacity(2);
        if into_day < HOUR_MS {
            days.push(day.pred_opt().unwrap_or(day));
        }
        days.push(day);
        if DAY_MS - into_day <= HOUR_MS {
            days.push(day.succ_opt().unwrap_or(day));
        }
        let mut earlier: Vec<(Candidate, Found)> = Vec::new();
        for log in days {
            let count = committed.get(&log).copied().unwrap_or(0) as usize;
            if count == 0 && !self.days.contains_key(&log) {
                continue;
            }
            let ids_path = self.path(log, "ids");
            let rec_path = self.path(log, "rec");
            let day_log = self.days.entry(log).or_insert_with(|| DayLog { committed: count, ..DayLog::default() });
            for record in day_log.matches(&ids_path, &rec_path, message, many)? {
                earlier.push((record.candidate(), Found { log, record }));
            }
        }
        Ok(judge(earlier, me))
    }

    /// Adds `record` (of message hash `message`) to the log of day `log`; written by [`KeyIndex::write`].
    pub(crate) fn insert(
        &mut self,
        committed: &BTreeMap<NaiveDate, u64>,
        log: NaiveDate,
        message: u64,
        record: Record,
    ) {
        let count = committed.get(&log).copied().unwrap_or(0) as usize;
        let day_log = self.days.entry(log).or_insert_with(|| DayLog { committed: count, ..DayLog::default() });
        if let Some(map) = &mut day_log.by_message {
            map.entry(message).or_default().push(usize::MAX - day_log.fresh.len());
        }
        day_log.fresh.push((message, record));
    }

    /// Appends the new records of every day to its two files; returns the new committed counts to store in the
    /// ledger. Records past the old committed count (from a hook that died before committing) are cut off first.
    pub(crate) fn write(&mut self) -> Result<Vec<(NaiveDate, u64)>, KeysError> {
        let mut lengths = Vec::new();
        for (day, log) in &mut self.days {
            if log.fresh.is_empty() {
                continue;
            }
            let mut ids = Vec::with_capacity(log.fresh.len() * ID);
            let mut recs = Vec::with_capacity(log.fresh.len() * RECORD);
            for (message, record) in &log.fresh {
                ids.extend_from_slice(&message.to_le_bytes());
                record.encode(&mut recs);
            }
            // The records first, then their ids: a write cut between the two leaves ids the ledger never committed.
            let rec_path = self.dir.join(format!("{day}.rec"));
            write_after(&rec_path, (log.committed * RECORD) as u64, &recs, None)
                .map_err(|source| KeysError::Write { path: rec_path.clone(), source })?;
            let ids_path = self.dir.join(format!("{day}.ids"));
            write_after(&ids_path, (log.committed * ID) as u64, &ids, log.ids_file.take())
                .map_err(|source| KeysError::Write { path: ids_path.clone(), source })?;
            let added = log.fresh.len();
            if let Some(known) = &mut log.ids {
                known.extend(log.fresh.iter().map(|(m, _)| *m));
            }
            for (i, (_, record)) in log.fresh.drain(..).enumerate() {
                log.read.insert(log.committed + i, record);
            }
            log.by_message = None;
            log.committed += added;
            lengths.push((*day, log.committed as u64));
        }
        Ok(lengths)
    }

    /// Every record from position `from[day]` on in each day's log, committed (`committed`) or added by this call,
    /// in order of day and position: what a team push has not sent yet (see `crate::team`). With each record, its
    /// day log and message hash; also the position each day's log is read from. A `from` past what the ledger
    /// committed (a call that pushed, then died before its ledger was saved) starts that day over.
    pub(crate) fn since(
        &self,
        committed: &BTreeMap<NaiveDate, u64>,
        from: &BTreeMap<NaiveDate, u64>,
    ) -> Result<Unpushed, KeysError> {
        let mut days: Vec<NaiveDate> = committed.keys().copied().collect();
        days.extend(self.days.iter().filter(|(_, log)| !log.fresh.is_empty()).map(|(day, _)| *day));
        days.sort_unstable();
        days.dedup();
        let mut out = Vec::new();
        let mut starts = BTreeMap::new();
        for day in days {
            let done = committed.get(&day).copied().unwrap_or(0);
            let start = from.get(&day).copied().filter(|f| *f <= done).unwrap_or(0);
            starts.insert(day, start);
            let count = (done - start) as usize;
            if count > 0 {
                let ids = read_slice(&self.path(day, "ids"), start as usize, count, ID)?;
                let recs = read_slice(&self.path(day, "rec"), start as usize, count, RECORD)?;
                for (id, rec) in ids.chunks_exact(ID).zip(recs.chunks_exact(RECORD)) {
                    let short = || KeysError::Short { path: self.path(day, "rec"), found: 0, committed: done as usize };
                    out.push((day, word(id, 0), Record::decode(rec).ok_or_else(short)?));
                }
            }
            if let Some(log) = self.days.get(&day) {
                out.extend(log.fresh.iter().map(|(message, record)| (day, *message, *record)));
            }
        }
        Ok((out, starts))
    }

    /// Deletes the logs of days before `keep_from`.
    pub(crate) fn prune(dir: &Path, keep_from: NaiveDate) {
        let Ok(entries) = fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let day = name.split_once('.').map_or(name, |(day, _)| day);
            if day.parse::<NaiveDate>().is_ok_and(|d| d < keep_from) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
}

/// The committed records of day log `log` in `dir` from record `from` to `committed`, each with its message hash:
/// for the live views' burn rate, which reads the logs as they grow (never past what the ledger committed).
pub(crate) fn read_range(dir: &Path, log: NaiveDate, from: u64, committed: u64) -> io::Result<Vec<(u64, Record)>> {
    if committed <= from {
        return Ok(Vec::new());
    }
    let count = (committed - from) as usize;
    let read = |ext: &str, width: usize| -> io::Result<Vec<u8>> {
        let mut file = File::open(dir.join(format!("{log}.{ext}")))?;
        file.seek(io::SeekFrom::Start(from * width as u64))?;
        let mut bytes = vec![0; count * width];
        file.read_exact(&mut bytes)?;
        Ok(bytes)
    };
    let (ids, recs) = (read("ids", ID)?, read("rec", RECORD)?);
    Ok(ids
        .chunks_exact(ID)
        .zip(recs.chunks_exact(RECORD))
        .filter_map(|(id, rec)| Some((word(id, 0), Record::decode(rec)?)))
        .collect())
}

impl DayLog {
    /// The records with message hash `message`, committed ones first, in order.
    fn matches(
        &mut self,
        ids_path: &Path,
        rec_path: &Path,
        message: u64,
        many: bool,
    ) -> Result<Vec<Record>, KeysError> {
        if self.ids.is_none() {
            let (ids, file) = read_ids(ids_path, self.committed)?;
            self.ids = Some(ids);
            self.ids_file = file;
        }
        let ids = self.ids.as_deref().unwrap_or_default();
        let positions: Vec<usize> = if many {
            let map = self.by_message.get_or_insert_with(|| {
                let mut map: HashMap<u64, Vec<usize>> = HashMap::with_capacity(ids.len());
                for (i, id) in ids.iter().enumerate() {
                    map.entry(*id).or_default().push(i);
                }
                for (i, (id, _)) in self.fresh.iter().enumerate() {
                    map.entry(*id).or_default().push(usize::MAX - i);
                }
                map
            });
            map.get(&message).cloned().unwrap_or_default()
        } else {
            let committed = ids.iter().enumerate().filter(|(_, id)| **id == message).map(|(i, _)| i);
            let fresh =
                self.fresh.iter().enumerate().filter(|(_, (id, _))| *id == message).map(|(i, _)| usize::MAX - i);
            committed.chain(fresh).collect()
        };
        let mut records = Vec::with_capacity(positions.len());
        for position in positions {
            if position >= self.committed && position > usize::MAX / 2 {
                records.push(self.fresh[usize::MAX - position].1);
            } else {
                records.push(self.committed_record(rec_path, position)?);
            }
        }
        Ok(records)
    }

    fn committed_record(&mut self, rec_path: &Path, index: usize) -> Result<Record, KeysError> {
        if let Some(record) = self.read.get(&index) {
            return Ok(*record);
        }
        let short = |found: usize| KeysError::Short { path: rec_path.to_path_buf(), found, committed: self.committed };
        let mut file = match File::open(rec_path) {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Err(short(0)),
            Err(source) => return Err(KeysError::Read { path: rec_path.to_path_buf(), source }),
        };
        let mut bytes = [0u8; RECORD];
        file.seek(io::SeekFrom::Start((index * RECORD) as u64)).and_then(|_| file.read_exact(&mut bytes)).map_err(
            |source| match source.kind() {
                io::ErrorKind::UnexpectedEof => short(index),
                _ => KeysError::Read { path: rec_path.to_path_buf(), source },
            },
        )?;
        let record = Record::decode(&bytes).ok_or_else(|| short(index))?;
        self.read.insert(index, record);
        Ok(record)
    }
}

/// The little-endian u64 at `at`.
fn word(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

/// Writes `bytes` after the first `keep` bytes of `path` (through `open`, if the file is open already), creating
/// it (and the keys directory) if missing. Bytes past `keep` from a hook that died before its ledger committed them
/// are written over, or left past the committed count, where nothing reads them.
fn write_after(path: &Path, keep: u64, bytes: &[u8], open: Option<File>) -> io::Result<()> {
    let create = || files::private_options().write(true).create(true).truncate(false).open(path);
    let mut file = match open {
        Some(file) => file,
        None => match create() {
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                files::create_private_dir(path.parent().unwrap_or(Path::new(".")))?;
                create()?
            }
            other => other?,
        },
    };
    write_at(&mut file, keep, bytes)
}

#[cfg(unix)]
fn write_at(file: &mut File, at: u64, bytes: &[u8]) -> io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, bytes, at)
}

#[cfg(not(unix))]
fn write_at(file: &mut File, at: u64, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    file.seek(io::SeekFrom::Start(at))?;
    file.write_all(bytes)
}

/// `count` items of `size` bytes from item `from` on of the file at `path`: an error if it holds fewer.
fn read_slice(path: &Path, from: usize, count: usize, size: usize) -> Result<Vec<u8>, KeysError> {
    let mut bytes = vec![0u8; count * size];
    let read = File::open(path).and_then(|mut file| {
        file.seek(io::SeekFrom::Start((from * size) as u64))?;
        file.read_exact(&mut bytes)
    });
    match read {
        Ok(()) => Ok(bytes),
        Err(err) if matches!(err.kind(), io::ErrorKind::UnexpectedEof | io::ErrorKind::NotFound) => {
            Err(KeysError::Short { path: path.to_path_buf(), found: from, committed: from + count })
        }
        Err(source) => Err(KeysError::Read { path: path.to_path_buf(), source }),
    }
}

/// The first `committed` message ids of a day (an error if the file holds fewer), and the file, open for the write
/// that may follow.
fn read_ids(path: &Path, committed: usize) -> Result<(Vec<u64>, Option<File>), KeysError> {
    if committed == 0 {
        return Ok((Vec::new(), None));
    }
    let mut bytes = vec![0u8; committed * ID];
    let mut filled = 0;
    let file = match files::private_options().read(true).write(true).open(path) {
        Ok(mut file) => {
            // One read when the file holds at least what was committed (the usual case).
            while filled < bytes.len() {
                match file.read(&mut bytes[filled..]) {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
                    Err(source) => return Err(KeysError::Read { path: path.to_path_buf(), source }),
                }
            }
            Some(file)
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => None,
        Err(source) => return Err(KeysError::Read { path: path.to_path_buf(), source }),
    };
    bytes.truncate(filled);
    let found = bytes.len() / ID;
    if found < committed {
        return Err(KeysError::Short { path: path.to_path_buf(), found, committed });
    }
    Ok((bytes.chunks_exact(ID).map(|c| word(c, 0)).collect(), file))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_795_000_000_000; // 2026-11-18T...

    fn candidate(request: u64, sidechain: bool, at_ms: i64) -> Candidate {
        Candidate { request, sidechain, at_ms }
    }

    fn record(request: u64, output: u64, at_ms: i64) -> Record {
        Record {
            request,
            sidechain: false,
            copy: false,
            incomplete: false,
            model: 7,
            day: utc_day(at_ms),
            session: 42,
            file: 43,
            at_ms,
            cost: Pico(output * 10),
            rate: 0,
            usage: Usage { output_tokens: output, ..Usage::default() },
        }
    }

    #[test]
    fn the_rule() {
        let none: [(Candidate, u8); 0] = [];
        assert_eq!(judge(none, candidate(1, false, T)), Seen::New);
        assert_eq!(judge([(candidate(2, false, T), 0)], candidate(1, false, T)), Seen::New, "a gateway reusing ids");
        assert_eq!(judge([(candidate(2, true, T), 0)], candidate(1, true, T)), Seen::New, "the same, in a subagent");
        assert_eq!(judge([(candidate(2, false, T), 0)], candidate(1, true, T)), Seen::Replay);
        assert_eq!(
            judge([(candidate(1, false, T), 3), (candidate(1, false, T), 4)], candidate(1, true, T)),
            Seen::Same(4)
        );
        // Days apart: two responses; across midnight within the hour: one.
        assert_eq!(judge([(candidate(1, false, T - 2 * DAY_MS), 0)], candidate(1, false, T)), Seen::New);
        let midnight = T.div_euclid(DAY_MS) * DAY_MS;
        assert_eq!(
            judge([(candidate(1, false, midnight - 1_000), 0)], candidate(1, false, midnight + 1_000)),
            Seen::Same(0)
        );
        assert!(!close(midnight - 2 * HOUR_MS, midnight + 1_000));
    }

    #[test]
    fn records_round_trip_and_survive_a_commit() {
        let tmp = crate::test_dir::TestDir::new("keys-commit");
        let dir = tmp.path();
        let mut committed = BTreeMap::new();
        let mut index = KeyIndex::new(dir);
        let log = KeyIndex::log_of(T);
        assert_eq!(index.lookup(&committed, 9, candidate(1, false, T)).unwrap(), Seen::New);
        index.insert(&committed, log, 9, record(1, 5, T));
        // Seen in the same call, before it is written.
        assert!(matches!(index.lookup(&committed, 9, candidate(1, false, T)).unwrap(), Seen::Same(_)));
        committed.extend(index.write().unwrap());
        assert_eq!(committed[&log], 1);
        let mut later = KeyIndex::new(dir);
        let Seen::Same(found) = later.lookup(&committed, 9, candidate(1, false, T + 1)).unwrap() else { panic!() };
        assert_eq!((found.log, found.record), (log, record(1, 5, T)));
        // A superseding record wins; an uncommitted one is written over by the next write.
        later.insert(&committed, log, 9, record(1, 50, T));
        later.write().unwrap();
        let mut again = KeyIndex::new(dir);
        let Seen::Same(found) = again.lookup(&committed, 9, candidate(1, false, T)).unwrap() else { panic!() };
        assert_eq!(found.record.usage.output_tokens, 5, "the superseding record was never committed");
        again.insert(&committed, log, 9, record(1, 70, T));
        committed.extend(again.write().unwrap());
        assert_eq!(fs::metadata(dir.join(format!("{log}.ids"))).unwrap().len(), 16);
        assert_eq!(fs::metadata(dir.join(format!("{log}.rec"))).unwrap().len(), 2 * RECORD as u64);
        assert_eq!(RECORD, 112);
        let Seen::Same(found) = KeyIndex::new(dir).lookup(&committed, 9, candidate(1, false, T)).unwrap() else {
            panic!()
        };
        assert_eq!(found.record.usage.output_tokens, 70);
    }

    #[test]
    fn since_gives_what_was_not_pushed_committed_then_fresh() {
        let tmp = crate::test_dir::TestDir::new("keys-since");
        let dir = tmp.path();
        let log = KeyIndex::log_of(T);
        let mut committed = BTreeMap::new();
        let mut index = KeyIndex::new(dir);
        for m in 1..=3 {
            index.insert(&committed, log, m, record(m, m, T));
        }
        committed.extend(index.write().unwrap());
        let mut index = KeyIndex::new(dir);
        index.insert(&committed, log, 4, record(4, 4, T));
        let messages = |got: &[(NaiveDate, u64, Record)]| got.iter().map(|g| g.1).collect::<Vec<_>>();
        let (got, starts) = index.since(&committed, &BTreeMap::new()).unwrap();
        assert_eq!((messages(&got), starts[&log]), (vec![1, 2, 3, 4], 0));
        let (got, starts) = index.since(&committed, &BTreeMap::from([(log, 2)])).unwrap();
        assert_eq!((messages(&got), starts[&log]), (vec![3, 4], 2));
        // Pushed past what the ledger committed (it was never saved): the day starts over.
        let (got, starts) = index.since(&committed, &BTreeMap::from([(log, 9)])).unwrap();
        assert_eq!((messages(&got), starts[&log]), (vec![1, 2, 3, 4], 0));
        assert_eq!(got[3].2, record(4, 4, T));
    }

    #[test]
    fn a_response_straddling_midnight_is_found_in_the_day_before() {
        let tmp = crate::test_dir::TestDir::new("keys-midnight");
        let dir = tmp.path();
        let midnight = T.div_euclid(DAY_MS) * DAY_MS;
        let mut committed = BTreeMap::new();
        let mut index = KeyIndex::new(dir);
        index.insert(&committed, KeyIndex::log_of(midnight - 500), 9, record(1, 5, midnight - 500));
        committed.extend(index.write().unwrap());
        let mut next = KeyIndex::new(dir);
        assert!(matches!(next.lookup(&committed, 9, candidate(1, false, midnight + 500)).unwrap(), Seen::Same(_)));
        assert_eq!(next.lookup(&committed, 9, candidate(1, false, midnight + 2 * HOUR_MS)).unwrap(), Seen::New);
    }

    #[test]
    fn a_log_shorter_than_committed_is_an_error() {
        let tmp = crate::test_dir::TestDir::new("keys-short");
        let log = KeyIndex::log_of(T);
        let committed = BTreeMap::from([(log, 5)]);
        let err = KeyIndex::new(tmp.path()).lookup(&committed, 9, candidate(1, false, T)).unwrap_err();
        assert!(matches!(err, KeysError::Short { found: 0, committed: 5, .. }));
    }

    #[test]
    fn many_lookups_use_the_map() {
        let tmp = crate::test_dir::TestDir::new("keys-many");
        let mut committed = BTreeMap::new();
        let mut index = KeyIndex::new(tmp.path());
        let log = KeyIndex::log_of(T);
        for i in 0..40 {
            assert_eq!(index.lookup(&committed, i, candidate(i, false, T)).unwrap(), Seen::New);
            index.insert(&committed, log, i, record(i, i, T));
        }
        committed.extend(index.write().unwrap());
        for i in 0..40 {
            let Seen::Same(found) = index.lookup(&committed, i, candidate(i, false, T)).unwrap() else { panic!() };
            assert_eq!(found.record.usage.output_tokens, i);
        }
    }
}
