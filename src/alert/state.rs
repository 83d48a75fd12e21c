//! The alerts' record in the state directory (`alerts.json`, under its own lock `alerts.lock`, apart from the
//! ledger's so that a hook that could not take the ledger's lock can still raise its fail-open alert): when each
//! (kind, scope) was last sent, for the cooldown; each channel's last result, for `status` and `doctor`; and the
//! alerts a channel failed to take, sent again with the next alert.

use super::Alert;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

pub(crate) const FILE_NAME: &str = "alerts.json";
const LOCK_NAME: &str = "alerts.lock";
const VERSION: u32 = 1;
/// Alerts kept to send again, at most, and for how long.
const MAX_PENDING: usize = 20;
const PENDING_FOR: i64 = 24;
/// How long a hook tries for the lock before leaving the alert to whoever holds it.
const LOCK_PATIENCE: std::time::Duration = std::time::Duration::from_millis(200);
/// The largest record read.
const MAX_BYTES: u64 = 4 << 20;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Record {
    version: u32,
    /// When each `kind:scope` was last sent.
    pub sent: BTreeMap<String, DateTime<Utc>>,
    /// Each channel's last delivery, by channel name.
    pub channels: BTreeMap<String, Delivery>,
    /// Alerts a channel did not take, to send again.
    pub pending: Vec<Pending>,
}

/// A channel's last delivery.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Delivery {
    pub at: Option<DateTime<Utc>>,
    pub ok: bool,
    /// Why it failed (never the URL's secret part).
    pub error: Option<String>,
    pub last_ok: Option<DateTime<Utc>>,
    /// Failures in a row.
    pub failures: u32,
}

/// An alert a channel has yet to take.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Pending {
    pub channel: String,
    pub alert: Alert,
    pub attempts: u32,
}

pub(crate) fn path(state_dir: &Path) -> PathBuf {
    state_dir.join(FILE_NAME)
}

impl Record {
    /// The record as it is (for `status` and `doctor`); a missing one is empty, a damaged one is an error.
    pub(crate) fn read(state_dir: &Path) -> io::Result<Record> {
        let path = path(state_dir);
        match crate::files::read_capped(&path, MAX_BYTES) {
            Ok(Some(bytes)) => serde_json::from_slice(&bytes).map_err(io::Error::other),
            Ok(None) => Err(io::Error::other("it is larger than 4 MiB")),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(Record::default()),
            Err(err) => Err(err),
        }
    }

    /// Reads the record under its lock, lets `change` update it, writes it back and returns what `change` returned.
    /// A damaged record is started afresh (an alert sent twice, never one lost). Fails when the lock stays busy
    /// past [`LOCK_PATIENCE`]: another process is raising or recording an alert.
    pub(crate) fn update<T>(state_dir: &Path, change: impl FnOnce(&mut Record) -> T) -> io::Result<T> {
        let lock = crate::files::private_options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(state_dir.join(LOCK_NAME))?;
        let started = std::time::Instant::now();
        loop {
            match lock.try_lock() {
                Ok(()) => break,
                Err(fs::TryLockError::WouldBlock) if started.elapsed() < LOCK_PATIENCE => {
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
                Err(fs::TryLockError::WouldBlock) => return Err(io::Error::from(io::ErrorKind::WouldBlock)),
                Err(fs::TryLockError::Error(err)) => return Err(err),
            }
        }
        let mut record = Record::read(state_dir).unwrap_or_default();
        let out = change(&mut record);
        record.version = VERSION;
        let bytes = serde_json::to_vec_pretty(&record).expect("the alerts record serialises");
        crate::files::write_atomic(&path(state_dir), &bytes, crate::files::Durability::Cache, None)?;
        drop(lock);
        Ok(out)
    }

    /// Whether an alert counted as `key` may go out at `at`, given `cooldown`; if so it is recorded as sent.
    pub(crate) fn claim(&mut self, key: &str, at: DateTime<Utc>, cooldown: Duration) -> bool {
        if let Some(last) = self.sent.get(key)
            && at < *last + cooldown
            && at >= *last
        {
            return false;
        }
        self.sent.insert(key.to_owned(), at);
        // Keys whose cooldown ran out long ago are forgotten.
        let horizon = at - cooldown.max(Duration::days(1));
        self.sent.retain(|_, t| *t >= horizon);
        true
    }

    pub(crate) fn succeeded(&mut self, channel: &str, at: DateTime<Utc>) {
        let d = self.channels.entry(channel.to_owned()).or_default();
        *d = Delivery { at: Some(at), ok: true, error: None, last_ok: Some(at), failures: 0 };
    }

    /// Records a failed delivery to `channel`, and keeps `alert` (if any) to send to it again.
    pub(crate) fn failed(&mut self, channel: &str, alert: Option<&Alert>, why: &str, at: DateTime<Utc>) {
        let d = self.channels.entry(channel.to_owned()).or_default();
        d.at = Some(at);
        d.ok = false;
        d.error = Some(why.to_owned());
        d.failures = d.failures.saturating_add(1);
        if let Some(alert) = alert.filter(|a| !a.test) {
            let attempts = self
                .pending
                .iter()
                .position(|p| p.channel == channel && p.alert == *alert)
                .map(|i| self.pending.remove(i).attempts)
                .unwrap_or(0);
            self.pending.push(Pending { channel: channel.to_owned(), alert: alert.clone(), attempts: attempts + 1 });
            let excess = self.pending.len().saturating_sub(MAX_PENDING);
            self.pending.drain(..excess);
        }
    }

    /// Takes the alerts kept for the channels named in `channels` (younger than a day) to send again; the rest of
    /// them is dropped.
    pub(crate) fn take_pending(&mut self, channels: &[&str], now: DateTime<Utc>) -> Vec<Pending> {
        let pending = std::mem::take(&mut self.pending);
        pending
            .into_iter()
            .filter(|p| channels.contains(&p.channel.as_str()) && p.alert.at + Duration::hours(PENDING_FOR) > now)
            .collect()
    }

    /// The channels whose last delivery failed.
    pub(crate) fn failing(&self) -> Vec<(&String, &Delivery)> {
        self.channels.iter().filter(|(_, d)| !d.ok).collect()
    }
}

/// Marks `day` as the day whose digest is sent: true for the first caller that day (one `open` for every other:
/// the marker `alerts-digest-<day>` exists). The day before's marker is removed.
pub(crate) fn claim_day(state_dir: &Path, day: NaiveDate) -> bool {
    let name = format!("alerts-digest-{day}");
    let made = crate::files::private_options().write(true).create_new(true).open(state_dir.join(&name));
    if made.is_err() {
        return false;
    }
    if let Ok(entries) = fs::read_dir(state_dir) {
        for entry in entries.flatten() {
            let other = entry.file_name().to_string_lossy().into_owned();
            if other.starts_with("alerts-digest-") && other != name {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AlertKind;
    use crate::test_dir::TestDir;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn one_alert_per_key_per_cooldown() {
        let dir = TestDir::new("alerts-cooldown");
        let cooldown = Duration::minutes(30);
        let claim = |t: &str| Record::update(dir.path(), |r| r.claim("block:day", at(t), cooldown)).unwrap();
        assert!(claim("2026-11-24T12:00:00Z"));
        assert!(!claim("2026-11-24T12:29:59Z"));
        assert!(claim("2026-11-24T12:30:00Z"));
        assert!(
            Record::update(dir.path(), |r| r.claim("block:session:s", at("2026-11-24T12:31:00Z"), cooldown)).unwrap()
        );
    }

    #[test]
    fn failures_are_kept_to_send_again_and_cleared_by_a_success() {
        let dir = TestDir::new("alerts-pending");
        let alert = Alert::new(AlertKind::Block, "day".into(), "t".into(), "m".into(), at("2026-11-24T12:00:00Z"));
        Record::update(dir.path(), |r| r.failed("webhook", Some(&alert), "HTTP 500", alert.at)).unwrap();
        Record::update(dir.path(), |r| r.failed("webhook", Some(&alert), "HTTP 500", alert.at)).unwrap();
        let record = Record::read(dir.path()).unwrap();
        assert_eq!(record.pending.len(), 1);
        assert_eq!(record.pending[0].attempts, 2);
        assert_eq!(record.failing().len(), 1);
        let taken = Record::update(dir.path(), |r| r.take_pending(&["webhook"], at("2026-11-24T13:00:00Z"))).unwrap();
        assert_eq!(taken.len(), 1);
        Record::update(dir.path(), |r| r.succeeded("webhook", at("2026-11-24T13:00:01Z"))).unwrap();
        let record = Record::read(dir.path()).unwrap();
        assert!(record.pending.is_empty() && record.failing().is_empty());
        assert_eq!(record.channels["webhook"].failures, 0);
    }

    #[test]
    fn the_day_is_claimed_once() {
        let dir = TestDir::new("alerts-day");
        let day = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        assert!(claim_day(dir.path(), day));
        assert!(!claim_day(dir.path(), day));
        assert!(claim_day(dir.path(), day.succ_opt().unwrap()));
        assert_eq!(dir.names(), ["alerts-digest-2026-11-25"]);
    }
}
