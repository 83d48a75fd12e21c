//! The state directory on disk: one lock shared by every ccbreaker process (bounded wait), the ledger replaced
//! atomically, and the human-made allowances kept apart from everything that can be rebuilt.

use super::keys::{KeyIndex, KeysError};
use super::state::{Ledger, VERSION};
use crate::usage::Pico;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The first bytes of a ledger slot.
const MAGIC: &[u8; 4] = b"CCBL";

/// A slot's generation and body, if its header and checksum hold: magic, generation, body length and FNV-1a of
/// the body; bytes past the body (left by a longer earlier ledger) are ignored.
fn frame(bytes: &[u8]) -> Result<(u64, &[u8]), &'static str> {
    let rest = bytes.strip_prefix(MAGIC).ok_or("is not a ccbreaker ledger")?;
    let word = |at: usize| rest.get(at..at + 8).map(|w| u64::from_le_bytes(w.try_into().expect("8 bytes")));
    let (Some(generation), Some(len), Some(sum)) = (word(0), word(8), word(16)) else {
        return Err("was cut short");
    };
    let body = rest.get(24..).and_then(|b| b.get(..len as usize)).ok_or("was cut short")?;
    if crate::transcript::line::hash(body) != sum {
        return Err("failed its checksum");
    }
    Ok((generation, body))
}

/// The largest ledger file read; anything bigger is treated as corrupt and rebuilt.
const MAX_LEDGER_BYTES: u64 = 64 << 20;

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
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
pub struct Allowances {
    pub sessions: BTreeMap<String, Allowance>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct Allowance {
    /// Added to both the session and the daily budget while this session runs.
    pub extra: Pico,
    pub granted_at: Option<DateTime<Utc>>,
}

impl Allowances {
    pub fn extra_for(&self, session: &str) -> Pico {
        self.sessions.get(session).map(|a| a.extra).unwrap_or_default()
    }
}

/// Why the ledger was started afresh on load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fresh {
    /// It was there and loaded.
    Loaded,
    /// There was none (first run).
    Missing,
    /// It could not be used: the reason, for `status`.
    Rebuilt(String),
}

#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

/// The ledger, loaded under the lock. Saving consumes it, so nothing can be written after the lock is released.
#[must_use = "a locked ledger must be saved or dropped"]
pub struct Locked {
    store: Store,
    _lock: File,
    pub ledger: Ledger,
    pub keys: KeyIndex,
    pub allowances: Allowances,
    pub fresh: Fresh,
    pub waited: Duration,
    /// The generation of the ledger loaded (0: none); the save writes the next one into the other slot.
    generation: u64,
}

impl Store {
    /// The store in `dir`, created with mode 0700 if missing (checked by the lock file: one syscall when it
    /// exists).
    pub fn open(dir: &Path) -> Result<Store, LedgerError> {
        if !dir.join("ledger.lock").exists() {
            create_private_dir(dir)?;
        }
        Ok(Store { dir: dir.to_path_buf() })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The two slots the ledger alternates between (see `Locked::save`).
    fn slot_path(&self, slot: u64) -> PathBuf {
        self.dir.join(if slot.is_multiple_of(2) { "ledger-a.bin" } else { "ledger-b.bin" })
    }

    fn keys_dir(&self) -> PathBuf {
        self.dir.join("keys")
    }

    fn allowances_path(&self) -> PathBuf {
        self.dir.join("allowances.json")
    }

    /// Takes the lock (waiting at most `timeout`), then loads the ledger for `timezone`. A ledger that is
    /// corrupt, of another version or made for another zone is started afresh (and its key logs with it).
    pub fn lock(&self, timeout: Duration, timezone: &str) -> Result<Locked, LedgerError> {
        let started = Instant::now();
        let lock = self.acquire(timeout)?;
        let waited = started.elapsed();
        let (ledger, generation, fresh) = self.load_ledger(timezone)?;
        if matches!(fresh, Fresh::Rebuilt(_) | Fresh::Missing) {
            self.clear_keys();
        }
        let allowances = self.load_allowances()?;
        let keys = KeyIndex::new(&self.keys_dir());
        Ok(Locked { store: self.clone(), _lock: lock, ledger, keys, allowances, fresh, waited, generation })
    }

    fn acquire(&self, timeout: Duration) -> Result<File, LedgerError> {
        let path = self.dir.join("ledger.lock");
        let file = private_options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|source| LedgerError::OpenLock { path: path.clone(), source })?;
        let deadline = Instant::now() + timeout;
        let mut pause = Duration::from_micros(200);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(file),
                Err(fs::TryLockError::WouldBlock) => {}
                Err(fs::TryLockError::Error(source)) if source.kind() == io::ErrorKind::Interrupted => continue,
                Err(fs::TryLockError::Error(source)) => return Err(LedgerError::OpenLock { path, source }),
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(LedgerError::LockTimeout { path, waited_ms: timeout.as_millis() as u64 });
            }
            std::thread::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(Duration::from_millis(10));
        }
    }

    /// Loads the newest intact slot. A slot a killed process was writing fails its checksum and the other one, the
    /// last committed ledger, is used; if neither is intact the ledger is started afresh.
    fn load_ledger(&self, timezone: &str) -> Result<(Ledger, u64, Fresh), LedgerError> {
        let mut newest: Option<(u64, Vec<u8>)> = None;
        let mut damaged = None;
        for slot in 0..2 {
            let path = self.slot_path(slot);
            let bytes = match read_capped(&path, MAX_LEDGER_BYTES) {
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
                "the time zone changed from {} to {timezone}",
                if ledger.timezone.is_empty() { "none" } else { &ledger.timezone }
            )),
            Ok(ledger) => Ok((ledger, generation, Fresh::Loaded)),
        }
    }

    /// Removes temporary files a killed process left behind (older than a minute, so none still being written).
    pub fn remove_stale_temps(&self) {
        let Ok(entries) = fs::read_dir(&self.dir) else { return };
        let minute_ago = std::time::SystemTime::now() - Duration::from_secs(60);
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            let stale = entry.metadata().and_then(|m| m.modified()).is_ok_and(|t| t < minute_ago);
            if name.starts_with('.') && name.ends_with(".tmp") && stale {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    fn clear_keys(&self) {
        let Ok(entries) = fs::read_dir(self.keys_dir()) else { return };
        for entry in entries.flatten() {
            let _ = fs::remove_file(entry.path());
        }
    }

    fn load_allowances(&self) -> Result<Allowances, LedgerError> {
        let path = self.allowances_path();
        match fs::read(&path) {
            Ok(bytes) => Ok(serde_json::from_slice(&bytes).unwrap_or_default()),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(Allowances::default()),
            Err(source) => Err(LedgerError::Read { path, source }),
        }
    }
}

impl Locked {
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Starts the ledger afresh (and its key logs), keeping the allowances: the transcripts are read again.
    pub fn reset(&mut self, why: String) {
        let timezone = std::mem::take(&mut self.ledger.timezone);
        self.ledger = Ledger::new(&timezone);
        self.store.clear_keys();
        self.keys = KeyIndex::new(&self.store.keys_dir());
        self.fresh = Fresh::Rebuilt(why);
    }

    /// Commits: key-log records first, then the ledger that records their length (the commit point).
    ///
    /// The ledger alternates between two slot files, each written in place with its generation, length and
    /// checksum: a write that is cut short damages only the slot being written, and the other holds the last
    /// committed ledger. (Replacing one file by rename would be as safe, but ext4 flushes a file renamed over
    /// another, which cost more than everything else a hook call does.)
    pub fn save(mut self) -> Result<(), LedgerError> {
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
        bytes.extend_from_slice(&crate::transcript::line::hash(&body).to_le_bytes());
        bytes.extend_from_slice(&body);
        let path = self.store.slot_path(generation);
        let write_err = |source| LedgerError::Write { path: path.clone(), source };
        let mut file = private_options().write(true).create(true).truncate(false).open(&path).map_err(write_err)?;
        file.write_all(&bytes).map_err(write_err)
    }

    /// Writes the allowances now (they are human decisions and must not wait for a ledger save).
    pub fn save_allowances(&self) -> Result<(), LedgerError> {
        let bytes = serde_json::to_vec_pretty(&self.allowances).expect("allowances always serialise");
        write_atomic(&self.store.allowances_path(), &bytes)
    }
}

fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
}

pub fn create_private_dir(dir: &Path) -> Result<(), LedgerError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|source| LedgerError::CreateDir { path: dir.to_path_buf(), source })
}

/// Reads a file unless it is larger than `cap` (then `Ok(None)`).
fn read_capped(path: &Path, cap: u64) -> io::Result<Option<Vec<u8>>> {
    let file = File::open(path)?;
    let len = file.metadata()?.len();
    if len > cap {
        return Ok(None);
    }
    let mut bytes = Vec::with_capacity(len as usize + 1);
    io::Read::read_to_end(&mut io::Read::take(file, cap + 1), &mut bytes)?;
    Ok(Some(bytes))
}

/// Writes `bytes` to a fresh temp file beside `path` (mode 0600) and renames it over `path`. No fsync: the
/// ledger is a cache of the transcripts, checked on load and rebuilt if a crash left it torn.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), LedgerError> {
    let write_err = |source| LedgerError::Write { path: path.to_path_buf(), source };
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    let name = format!(
        ".{}.{}.{nanos}.tmp",
        path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default(),
        std::process::id()
    );
    let temp = path.with_file_name(name);
    let result = private_options()
        .write(true)
        .create_new(true)
        .open(&temp)
        .and_then(|mut file| file.write_all(bytes))
        .and_then(|()| fs::rename(&temp, path));
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result.map_err(write_err)
}
