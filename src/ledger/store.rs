//! The state directory on disk: one lock shared by every ccbreaker process (bounded wait), the ledger replaced
//! atomically, and the human-made allowances kept apart from everything that can be rebuilt.

use super::keys::{KeyIndex, KeysError};
use super::state::{Ledger, VERSION};
use crate::files::{self, Durability, private_options};
use crate::usage::Pico;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The first bytes of a ledger slot.
const MAGIC: &[u8; 4] = b"CCB2";
/// The first bytes of a slot in the layout before this one (another checksum).
const OLD_MAGIC: &[u8; 4] = b"CCBL";

/// A slot's generation and body, if its header and checksum hold: magic, generation, body length and the
/// [`files::checksum`] of the body; bytes past the body (left by a longer earlier ledger) are ignored.
fn frame(bytes: &[u8]) -> Result<(u64, &[u8]), &'static str> {
    if bytes.starts_with(OLD_MAGIC) {
        return Err("was written by an older ccbreaker");
    }
    let rest = bytes.strip_prefix(MAGIC).ok_or("is not a ccbreaker ledger")?;
    let word = |at: usize| rest.get(at..at + 8).map(|w| u64::from_le_bytes(w.try_into().expect("8 bytes")));
    let (Some(generation), Some(len), Some(sum)) = (word(0), word(8), word(16)) else {
        return Err("was cut short");
    };
    let body = rest.get(24..).and_then(|b| b.get(..len as usize)).ok_or("was cut short")?;
    if files::checksum(body) != sum {
        return Err("failed its checksum");
    }
    Ok((generation, body))
}

/// The largest ledger file read; anything bigger is treated as corrupt and rebuilt.
const MAX_LEDGER_BYTES: u64 = 64 << 20;

#[derive(Debug, thiserror::Error)]
pub(crate) enum LedgerError {
    #[error("could not create state directory `{path}`")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("could not open lock file `{path}`")]
    OpenLock {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "another ccbreaker process held `{path}` for more than {waited_ms} ms (raise CCBREAKER_LOCK_TIMEOUT_MS if the disk is slow)"
    )]
    LockTimeout { path: PathBuf, waited_ms: u64 },
    /// The lock was held past the timeout by something that is not a running ccbreaker call: a process that took
    /// it from outside ccbreaker, or a ccbreaker stopped by a signal.
    #[error("`{path}` has been held for more than {waited_ms} ms by {holder}")]
    LockSeized { path: PathBuf, waited_ms: u64, holder: String },
    #[error("`{path}` was replaced while ccbreaker held it")]
    LockReplaced { path: PathBuf },
    #[error("could not read `{path}`")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("could not write `{path}`")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Keys(#[from] KeysError),
}

/// Human decisions that lift a block: extra USD per session, granted with `ccbreaker allow`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub(crate) struct Allowances {
    pub sessions: BTreeMap<String, Allowance>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub(crate) struct Allowance {
    /// Added to both the session and the daily budget while this session runs.
    pub extra: Pico,
    pub granted_at: Option<DateTime<Utc>>,
}

impl Allowances {
    pub(crate) fn extra_for(&self, session: &str) -> Pico {
        self.sessions.get(session).map(|a| a.extra).unwrap_or_default()
    }
}

/// Why the ledger was started afresh on load.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Fresh {
    /// It was there and loaded.
    Loaded,
    /// There was none (first run).
    Missing,
    /// It could not be used: the reason, for `status`.
    Rebuilt(String),
}

#[derive(Debug, Clone)]
pub(crate) struct Store {
    dir: PathBuf,
    /// Locked mode: root's grants, read instead of `allowances.json` (which only `allow` as root may change).
    grants: Option<PathBuf>,
}

/// The ledger, loaded under the lock. Saving consumes it, so nothing can be written after the lock is released.
#[must_use = "a locked ledger must be saved or dropped"]
pub(crate) struct Locked {
    store: Store,
    _lock: File,
    pub ledger: Ledger,
    pub keys: KeyIndex,
    pub allowances: Allowances,
    /// The generation of the ledger loaded (0: none); the save writes the next one into the other slot.
    generation: u64,
}

impl Store {
    /// The store in `dir`, created with mode 0700 if missing (checked by the lock file: one syscall when it
    /// exists).
    pub(crate) fn open(dir: &Path) -> Result<Store, LedgerError> {
        if !dir.join("ledger.lock").exists() {
            create_private_dir(dir)?;
        }
        Ok(Store { dir: dir.to_path_buf(), grants: None })
    }

    /// The store in `dir`, without creating anything: for reading only ([`Store::peek`]).
    pub(crate) fn at(dir: &Path) -> Store {
        Store { dir: dir.to_path_buf(), grants: None }
    }

    /// Reads grants from `grants` (locked mode) instead of the state directory's `allowances.json`.
    pub(crate) fn with_grants(mut self, grants: Option<PathBuf>) -> Store {
        self.grants = grants;
        self
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The two slots the ledger alternates between (see `Locked::save`).
    fn slot_path(&self, slot: u64) -> PathBuf {
        self.dir.join(if slot.is_multiple_of(2) { "ledger-a.bin" } else { "ledger-b.bin" })
    }

    pub(crate) fn keys_dir(&self) -> PathBuf {
        self.dir.join("keys")
    }

    fn allowances_path(&self) -> PathBuf {
        self.grants.clone().unwrap_or_else(|| self.dir.join("allowances.json"))
    }

    /// Takes the lock (waiting at most `timeout`), then loads the ledger for `timezone`. A ledger that is
    /// corrupt, of another version or made for another zone is started afresh (and its key logs with it).
    pub(crate) fn lock(&self, timeout: Duration, timezone: &str) -> Result<Locked, LedgerError> {
        let lock = self.acquire(timeout)?;
        let (mut ledger, generation, fresh) = self.load_ledger(timezone)?;
        if matches!(fresh, Fresh::Rebuilt(_) | Fresh::Missing) {
            self.clear_keys();
        }
        if let Fresh::Rebuilt(why) = &fresh {
            ledger.note(rebuilt(why));
        }
        let (allowances, damaged) = self.load_allowances()?;
        if let Some(note) = damaged {
            ledger.note(note);
        }
        let keys = KeyIndex::new(&self.keys_dir());
        Ok(Locked { store: self.clone(), _lock: lock, ledger, keys, allowances, generation })
    }

    /// Takes the lock file's lock, waiting while other calls hold it in turn; gives up when one holder has kept it
    /// for `timeout` (each holder writes who it is into the lock file, so a waiter sees the lock change hands).
    fn acquire(&self, timeout: Duration) -> Result<File, LedgerError> {
        let path = self.dir.join("ledger.lock");
        for _ in 0..3 {
            let file = private_options()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|source| LedgerError::OpenLock { path: path.clone(), source })?;
            wait_for(&file, &path, timeout)?;
            // The lock guards this inode only: a lock file replaced meanwhile (renamed over, or removed and made
            // again) would let two processes in at once. Replaced, the inode we hold has no name left.
            if still_linked(&file) {
                holder::write(&file);
                return Ok(file);
            }
        }
        Err(LedgerError::LockReplaced { path })
    }

    /// Loads the newest intact slot. A slot a killed process was writing fails its checksum and the other one, the
    /// last committed ledger, is used; if neither is intact the ledger is started afresh.
    fn load_ledger(&self, timezone: &str) -> Result<(Ledger, u64, Fresh), LedgerError> {
        let (newest, damaged) = self.newest_slot()?;
        let rebuilt = |why: String| Ok((Ledger::new(timezone), 0, Fresh::Rebuilt(why)));
        let Some((generation, body)) = newest else {
            return match damaged {
                Some(why) => rebuilt(why),
                None => Ok((Ledger::new(timezone), 0, Fresh::Missing)),
            };
        };
        let Some((version, body)) = body.split_first_chunk::<4>().map(|(v, rest)| (u32::from_le_bytes(*v), rest))
        else {
            return rebuilt("the ledger was cut short".to_owned());
        };
        if version != VERSION {
            return rebuilt(format!("the ledger had version {version} (this ccbreaker writes {VERSION})"));
        }
        match postcard::from_bytes::<Ledger>(body) {
            Err(err) => rebuilt(format!("the ledger was corrupt ({err})")),
            Ok(ledger) if ledger.timezone != timezone => rebuilt(format!(
                "its basis (time zone, budget correction) changed from {} to {timezone}",
                if ledger.timezone.is_empty() { "none" } else { &ledger.timezone }
            )),
            Ok(ledger) => Ok((ledger, generation, Fresh::Loaded)),
        }
    }

    /// The body and generation of the newest intact slot, and why a slot could not be used (if one could not).
    #[allow(clippy::type_complexity)]
    fn newest_slot(&self) -> Result<(Option<(u64, Vec<u8>)>, Option<String>), LedgerError> {
        let mut newest: Option<(u64, Vec<u8>)> = None;
        let mut damaged = None;
        for slot in 0..2 {
            let path = self.slot_path(slot);
            let bytes = match files::read_capped(&path, MAX_LEDGER_BYTES) {
                Ok(Some(bytes)) => bytes,
                Ok(None) => {
                    damaged = Some(format!("`{}` was too large", path.display()));
                    continue;
                }
                Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
                Err(source) => return Err(LedgerError::Read { path, source }),
            };
            match frame(&bytes) {
                Ok((generation, body)) if newest.as_ref().is_none_or(|(g, _)| generation > *g) => {
                    newest = Some((generation, body.to_vec()));
                }
                Ok(_) => {}
                Err(why) => damaged = Some(format!("`{}` {why}", path.display())),
            }
        }
        Ok((newest, damaged))
    }

    /// The ledger as the last save left it, read without the lock (for the statusline and `exec`, which only look):
    /// the newest intact slot, whatever its basis; `None` when there is none, or it is of another version. A save
    /// under way damages only the slot it writes, so the other one is read.
    pub(crate) fn peek(&self) -> Option<Ledger> {
        // Each slot's header first: only the newest is read whole (the ledger can be hundreds of KB), and the other
        // only if the newest is torn.
        let generation = |slot: u64| -> Option<u64> {
            let mut header = [0u8; 12];
            let mut file = File::open(self.slot_path(slot)).ok()?;
            std::io::Read::read_exact(&mut file, &mut header).ok()?;
            let rest = header.strip_prefix(MAGIC)?;
            Some(u64::from_le_bytes(rest.try_into().ok()?))
        };
        let mut slots: Vec<(u64, u64)> = (0..2).filter_map(|slot| generation(slot).map(|g| (g, slot))).collect();
        slots.sort_unstable_by(|a, b| b.cmp(a));
        slots.into_iter().find_map(|(_, slot)| {
            let bytes = files::read_capped(&self.slot_path(slot), MAX_LEDGER_BYTES).ok()??;
            let (_, body) = frame(&bytes).ok()?;
            let (version, body) = body.split_first_chunk::<4>()?;
            if u32::from_le_bytes(*version) != VERSION {
                return None;
            }
            let peeked: Peeked = postcard::from_bytes(body).ok()?;
            Some(Ledger {
                timezone: peeked.timezone.to_owned(),
                sessions: peeked.sessions,
                days: peeked.days.into_iter().filter_map(|(d, spend)| Some((day(d)?, spend))).collect(),
                ..Ledger::default()
            })
        })
    }

    /// The grants as they are, read without the lock; a file that cannot be read grants nothing.
    pub(crate) fn peek_allowances(&self) -> Allowances {
        fs::read(self.allowances_path()).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
    }

    fn clear_keys(&self) {
        let Ok(entries) = fs::read_dir(self.keys_dir()) else { return };
        for entry in entries.flatten() {
            let _ = fs::remove_file(entry.path());
        }
    }

    /// The allowances, and a note if the file was damaged. Allowances are human decisions that nothing can
    /// rebuild: a file that does not parse is moved aside (never overwritten by the next grant) and said in
    /// `status`; until a person restores it, its grants do not apply, so budgets are only ever stricter for it.
    fn load_allowances(&self) -> Result<(Allowances, Option<String>), LedgerError> {
        let path = self.allowances_path();
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok((Allowances::default(), None)),
            Err(source) => return Err(LedgerError::Read { path, source }),
        };
        let err = match serde_json::from_slice(&bytes) {
            Ok(allowances) => return Ok((allowances, None)),
            Err(err) => err,
        };
        if self.grants.is_some() {
            // Root's grants (locked mode) are root's to mend: the hook only reads them.
            let note = format!("`{}` could not be read ({err}); its grants do not apply", path.display());
            return Ok((Allowances::default(), Some(note)));
        }
        let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let aside = path.with_file_name(format!("allowances.json.damaged-{stamp}"));
        fs::rename(&path, &aside).map_err(|source| LedgerError::Write { path: path.clone(), source })?;
        let note = format!(
            "`{}` could not be read ({err}); it was moved to `{}` and its grants no longer apply: fix and move it back, \
             or grant again with `ccbreaker allow`",
            path.display(),
            aside.display()
        );
        Ok((Allowances::default(), Some(note)))
    }
}

impl Locked {
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// Starts the ledger afresh (and its key logs), keeping the allowances: the transcripts are read again.
    pub(crate) fn reset(&mut self, why: &str) {
        let timezone = std::mem::take(&mut self.ledger.timezone);
        self.ledger = Ledger::new(&timezone);
        self.store.clear_keys();
        self.keys = KeyIndex::new(&self.store.keys_dir());
        self.ledger.note(rebuilt(why));
    }

    /// Commits: key-log records first, then the ledger that records their length (the commit point).
    ///
    /// The ledger alternates between two slot files, each written in place with its generation, length and
    /// checksum: a write that is cut short damages only the slot being written, and the other holds the last
    /// committed ledger. (Replacing one file by rename would be as safe, but ext4 flushes a file renamed over
    /// another, which cost more than everything else a hook call does.)
    pub(crate) fn save(mut self) -> Result<(), LedgerError> {
        for (day, length) in self.keys.write()? {
            self.ledger.keys.insert(day, length);
        }
        let generation = self.generation + 1;
        let mut body = Vec::with_capacity(32 << 10);
        body.extend_from_slice(&VERSION.to_le_bytes());
        let body = postcard::to_extend(&self.ledger, body).expect("the ledger always serialises");
        let mut bytes = Vec::with_capacity(body.len() + 32);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&generation.to_le_bytes());
        bytes.extend_from_slice(&(body.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&files::checksum(&body).to_le_bytes());
        bytes.extend_from_slice(&body);
        let path = self.store.slot_path(generation);
        let write_err = |source| LedgerError::Write { path: path.clone(), source };
        let mut file = private_options().write(true).create(true).truncate(false).open(&path).map_err(write_err)?;
        file.write_all(&bytes).map_err(write_err)
    }

    /// Writes the allowances now, synced (they are human decisions and must not wait for a ledger save).
    pub(crate) fn save_allowances(&self) -> Result<(), LedgerError> {
        let bytes = serde_json::to_vec_pretty(&self.allowances).expect("allowances always serialise");
        let path = self.store.allowances_path();
        files::write_atomic(&path, &bytes, Durability::Synced, None)
            .map_err(|source| LedgerError::Write { path, source })
    }
}

fn wait_for(file: &File, path: &Path, timeout: Duration) -> Result<(), LedgerError> {
    let mut since = Instant::now();
    // Read only once the lock is found busy: the uncontended call costs nothing more.
    let mut last: Option<Option<String>> = None;
    let mut pause = Duration::from_micros(200);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(()),
            Err(fs::TryLockError::WouldBlock) => {}
            Err(fs::TryLockError::Error(source)) if source.kind() == io::ErrorKind::Interrupted => continue,
            Err(fs::TryLockError::Error(source)) => {
                return Err(LedgerError::OpenLock { path: path.to_path_buf(), source });
            }
        }
        let now = Instant::now();
        let current = Some(holder::read(file));
        if current != last {
            // The first look, or another call took its turn: the lock is busy, not stuck.
            (last, since) = (current, if last.is_none() { since } else { now });
        }
        if now >= since + timeout {
            let waited_ms = timeout.as_millis() as u64;
            return Err(match holder::stuck(last.flatten().as_deref()) {
                None => LedgerError::LockTimeout { path: path.to_path_buf(), waited_ms },
                Some(holder) => LedgerError::LockSeized { path: path.to_path_buf(), waited_ms, holder },
            });
        }
        std::thread::sleep(pause.min(since + timeout - now));
        pause = (pause * 2).min(Duration::from_millis(10));
    }
}

fn still_linked(file: &File) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        file.metadata().is_ok_and(|meta| meta.nlink() > 0)
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        true
    }
}

/// Who holds the lock: each holder writes `ccbreaker <pid> <nanos>` at the start of the lock file once it has the
/// lock. A waiter that sees the record change knows the lock changed hands; one that sees it unchanged for the
/// whole timeout asks whether that holder is a running ccbreaker.
mod holder {
    use std::fs::File;

    const LEN: usize = 48;

    pub(super) fn write(file: &File) {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let mut record = format!("ccbreaker {} {nanos}", std::process::id()).into_bytes();
        record.resize(LEN, b' ');
        #[cfg(unix)]
        {
            // Best effort: a record not written only makes a stuck lock look like someone else's.
            let _ = std::os::unix::fs::FileExt::write_at(file, &record, 0);
        }
        #[cfg(not(unix))]
        let _ = (file, record);
    }

    pub(super) fn read(file: &File) -> Option<String> {
        let mut buf = [0u8; LEN];
        #[cfg(unix)]
        let n = std::os::unix::fs::FileExt::read_at(file, &mut buf, 0).ok()?;
        #[cfg(not(unix))]
        let n = {
            let _ = file;
            0
        };
        Some(String::from_utf8_lossy(&buf[..n]).trim().to_owned()).filter(|s| !s.is_empty())
    }

    /// `None` if the last recorded holder is a ccbreaker process that is running (slow, not stuck: a genuine
    /// fault); else who holds it, for the tamper notice.
    pub(super) fn stuck(record: Option<&str>) -> Option<String> {
        let pid = record.and_then(|r| r.strip_prefix("ccbreaker ")).and_then(|r| r.split(' ').next());
        let Some(pid) = pid.and_then(|p| p.parse::<i32>().ok()) else {
            return Some("a process that is not ccbreaker".to_owned());
        };
        match state(pid) {
            None => Some(format!("a process that is not ccbreaker (the last ccbreaker holder, pid {pid}, has exited)")),
            Some('T' | 't') => Some(format!("a ccbreaker call that was stopped (pid {pid})")),
            Some(_) => None,
        }
    }

    /// The state letter of process `pid` if it is a running ccbreaker (`R`, `S`, `D`, `T`, ...).
    #[cfg(target_os = "linux")]
    fn state(pid: i32) -> Option<char> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let (comm, rest) = stat.split_once(" (")?.1.rsplit_once(") ")?;
        (comm == "ccbreaker").then(|| rest.chars().next()).flatten()
    }

    #[cfg(all(unix, not(target_os = "linux")))]
    fn state(pid: i32) -> Option<char> {
        let pid = rustix::process::Pid::from_raw(pid)?;
        rustix::process::test_kill_process(pid).is_ok().then_some('R')
    }

    #[cfg(not(unix))]
    fn state(_pid: i32) -> Option<char> {
        Some('R')
    }
}

/// What [`Store::peek`] decodes: the first fields of [`Ledger`], in its order and encoding, the file cursors (by far
/// the largest part, and of no use to a reader that only looks) borrowed rather than copied; postcard stops after
/// the day totals. A unit test holds it to `Ledger`'s encoding.
#[derive(serde::Deserialize)]
struct Peeked<'a> {
    timezone: &'a str,
    #[serde(borrow)]
    _files: Vec<(&'a str, PeekedCursor<'a>)>,
    sessions: BTreeMap<String, super::state::SessionSpend>,
    days: Vec<(i32, super::state::Spend)>,
}

#[derive(serde::Deserialize)]
struct PeekedCursor<'a> {
    _session: &'a str,
    _dev: u64,
    _ino: u64,
    _offset: u64,
    #[serde(borrow)]
    _last_uuid: Option<&'a str>,
    _malformed_lines: u64,
    _touched: i64,
}

fn day(days: i32) -> Option<chrono::NaiveDate> {
    chrono::NaiveDate::from_num_days_from_ce_opt(days)
}

/// The note a rebuilt ledger carries, for `status`.
fn rebuilt(why: &str) -> String {
    format!("ledger rebuilt from the transcripts: {why}")
}

fn create_private_dir(dir: &Path) -> Result<(), LedgerError> {
    files::create_private_dir(dir).map_err(|source| LedgerError::CreateDir { path: dir.to_path_buf(), source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::state::{FileCursor, SessionSpend, Spend};

    #[test]
    fn a_peek_reads_what_the_last_save_wrote_without_the_lock() {
        let dir = crate::test_dir::TestDir::new("peek");
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.peek(), None, "nothing saved yet");
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let spend = Spend { cost: Pico(42), responses: 3, ..Spend::default() };
        for round in 0..3u64 {
            let mut locked = store.lock(Duration::from_secs(1), "UTC").unwrap();
            locked.ledger.files.insert(
                format!("/p/s{round}.jsonl"),
                FileCursor { session: "s".into(), offset: 7, last_uuid: Some("u".into()), ..FileCursor::default() },
            );
            let session = SessionSpend {
                project: "p".into(),
                total: spend,
                recent_tool_uses: vec!["t".into()],
                ..SessionSpend::default()
            };
            locked.ledger.sessions.insert(format!("s{round}"), session);
            locked.ledger.days.insert(day, Spend { responses: round, ..spend });
            locked.ledger.note("a note".into());
            let want = locked.ledger.clone();
            locked.save().unwrap();
            // The lock is held by someone else meanwhile: a peek does not care.
            let _held = store.lock(Duration::from_secs(1), "UTC").unwrap();
            let peeked = Store::at(dir.path()).peek().unwrap();
            assert_eq!(
                (&peeked.timezone, &peeked.sessions, &peeked.days),
                (&want.timezone, &want.sessions, &want.days)
            );
        }
        // The newest slot torn: the other one, one generation older, is read.
        // Three saves: generations 1, 2, 3; the third went to the slot of generation 3.
        let newest = store.slot_path(3);
        let mut bytes = std::fs::read(&newest).unwrap();
        let n = bytes.len();
        bytes[n - 1] ^= 0xff;
        std::fs::write(&newest, bytes).unwrap();
        assert_eq!(store.peek().unwrap().sessions.len(), 2);
    }
}
