//! The ledger's on-disk shape: versioned, with every field defaulted so a newer or older field set still loads.

use crate::usage::{Pico, Usage};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Bumped whenever a field is added, removed or changes meaning (the encoding is positional); a ledger of another
/// version is rebuilt from the transcripts.
pub(crate) const VERSION: u32 = 6;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub(crate) struct Ledger {
    /// The zone the per-day buckets were made in; another zone means a rebuild.
    pub timezone: String,
    /// Cursors by transcript path.
    pub files: BTreeMap<String, FileCursor>,
    pub sessions: BTreeMap<String, SessionSpend>,
    /// Spend of every session by local day.
    #[serde(with = "compact::date_map")]
    pub days: BTreeMap<NaiveDate, Spend>,
    /// Committed record count of each UTC day's key log.
    #[serde(with = "compact::date_map")]
    pub keys: BTreeMap<NaiveDate, u64>,
    /// When every transcript root was last walked (Unix seconds).
    pub last_scan: Option<i64>,
    pub last_hook: Option<HookTimings>,
    /// Copies counted before any original was seen (message hash, request hash, sidechain), newest last: an
    /// original appended later is checked against these without reading the day's key log.
    pub copies: Vec<(u64, u64, bool)>,
    /// Problems seen while reading transcripts, newest last (bounded).
    pub notes: Vec<String>,
    /// Transcript roots learned from hooked sessions whose transcripts lie outside the configured ones (bounded).
    pub roots: Vec<String>,
    /// The content hash of the config file last read whole and valid, so the copy kept beside the ledger
    /// (`config.last-good.toml`) is written only when the config changes.
    pub config_hash: u64,
}

/// Money and tokens summed over responses.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub(crate) struct Spend {
    pub cost: Pico,
    pub usage: Usage,
    pub responses: u64,
}

impl Spend {
    pub(crate) fn add(&mut self, cost: Pico, usage: &Usage) {
        self.cost += cost;
        self.usage.add(usage);
        self.responses += 1;
    }

    /// Replaces a response counted as `old` by its larger copy `new` (same response, more lines seen).
    pub(crate) fn replace(&mut self, old: (Pico, &Usage), new: (Pico, &Usage)) {
        self.cost = self.cost.saturating_sub(old.0).saturating_add(new.0);
        self.usage.sub(old.1);
        self.usage.add(new.1);
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub(crate) struct SessionSpend {
    pub project: String,
    pub total: Spend,
    #[serde(with = "compact::date_map")]
    pub days: BTreeMap<NaiveDate, Spend>,
    #[serde(with = "chrono::serde::ts_microseconds_option")]
    pub first_activity: Option<DateTime<Utc>>,
    #[serde(with = "chrono::serde::ts_microseconds_option")]
    pub last_activity: Option<DateTime<Utc>>,
    /// The most one response of this session cost.
    pub max_response: Pico,
    /// The model and prompt size (input + cache tokens) of the latest response: what the next one will cost at
    /// least, for deciding whether it could cross a budget.
    pub last_model: String,
    pub last_prompt_tokens: u64,
    pub unknown_models: BTreeSet<String>,
    /// The session-budget warning was shown.
    pub warned_session: bool,
    /// The day on which the day-budget warning was shown.
    #[serde(with = "compact::opt_date")]
    pub warned_day: Option<NaiveDate>,
    /// When the hook first answered this session with a block (for status and the audit trail).
    #[serde(with = "chrono::serde::ts_microseconds_option")]
    pub blocked_since: Option<DateTime<Utc>>,
    /// The session has run the hook (as opposed to being found by a scan).
    pub hooked: bool,
    /// Ids of the latest tool calls found in the transcripts (newest last), so a hook can tell whether the
    /// response that issued its call has been counted.
    pub recent_tool_uses: Vec<String>,
    /// The session's own transcript was tampered with: refused until a person allows the session again.
    pub tampered: Option<Tampered>,
    /// The newest `ccbreaker allow` grant this session's hook has applied (warnings reset, tamper lifted).
    #[serde(with = "chrono::serde::ts_microseconds_option")]
    pub grant_seen: Option<DateTime<Utc>>,
}

/// What was found wrong with a session's transcripts, and when.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub(crate) struct Tampered {
    #[serde(with = "chrono::serde::ts_microseconds")]
    pub at: DateTime<Utc>,
    /// One line per file: the file and what happened to it.
    pub reasons: Vec<String>,
}

/// How many tool-call ids a session remembers.
pub(crate) const RECENT_TOOL_USES: usize = 16;

impl SessionSpend {
    pub(crate) fn day(&self, date: NaiveDate) -> Spend {
        self.days.get(&date).copied().unwrap_or_default()
    }

    pub(crate) fn saw_tool_use(&self, id: &str) -> bool {
        self.recent_tool_uses.iter().any(|seen| seen == id)
    }

    pub(crate) fn remember_tool_uses(&mut self, ids: &[String]) {
        self.recent_tool_uses.extend(ids.iter().cloned());
        let excess = self.recent_tool_uses.len().saturating_sub(RECENT_TOOL_USES);
        self.recent_tool_uses.drain(..excess);
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub(crate) struct FileCursor {
    pub session: String,
    pub dev: u64,
    pub ino: u64,
    /// Bytes consumed: everything before is counted, everything after is not.
    pub offset: u64,
    /// `uuid` of the last line read, to tell a response written here from one copied in.
    pub last_uuid: Option<String>,
    /// The last response read: its next lines (if the write was cut between them) continue it.
    pub last: Option<LastResponse>,
    pub malformed_lines: u64,
    /// When the file last grew (Unix seconds): cursors of files idle for days are dropped.
    pub touched: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub(crate) struct LastResponse {
    pub message: u64,
    pub request: u64,
    /// How it was counted here; `None` if another file had counted it.
    pub counted: Option<Counted>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub(crate) struct Counted {
    pub usage: Usage,
    pub cost: Pico,
    #[serde(with = "compact::date")]
    pub day: NaiveDate,
}

/// How long the last hook call spent in each phase, in microseconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub(crate) struct HookTimings {
    #[serde(with = "chrono::serde::ts_microseconds_option")]
    pub at: Option<DateTime<Utc>>,
    pub event: String,
    pub session: String,
    pub parse_us: u64,
    pub lock_us: u64,
    pub tail_us: u64,
    pub decide_us: u64,
    /// Time spent waiting for the response that issued the call (only near a budget).
    pub wait_us: u64,
    pub total_us: u64,
    pub files_read: u64,
    pub bytes_read: u64,
    pub scanned: bool,
}

/// How many early-counted copies the ledger remembers.
pub(crate) const COPIES: usize = 1024;

/// How many notes the ledger keeps.
pub(crate) const MAX_NOTES: usize = 20;

impl Ledger {
    pub(crate) fn new(timezone: &str) -> Ledger {
        Ledger { timezone: timezone.to_owned(), ..Ledger::default() }
    }

    pub(crate) fn day(&self, date: NaiveDate) -> Spend {
        self.days.get(&date).copied().unwrap_or_default()
    }

    pub(crate) fn note(&mut self, note: String) {
        // A problem seen on every walk is said once.
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
        let excess = self.notes.len().saturating_sub(MAX_NOTES);
        self.notes.drain(..excess);
    }

    /// Drops sessions last active before `keep_from` (and their cursors), and key-log lengths of days before
    /// `keys_from`. A dropped session that comes back is read again from the start; its copies are still
    /// recognised by the key logs that remain.
    pub(crate) fn prune(&mut self, keep_from: DateTime<Utc>, keys_from: NaiveDate, keep_session: &str) {
        let stale: BTreeSet<String> = self
            .sessions
            .iter()
            .filter(|(id, s)| id.as_str() != keep_session && s.last_activity.is_none_or(|t| t < keep_from))
            .map(|(id, _)| id.clone())
            .collect();
        self.sessions.retain(|id, _| !stale.contains(id));
        let keep_touched = keep_from.timestamp();
        self.files.retain(|_, cursor| {
            cursor.session == keep_session || (!stale.contains(&cursor.session) && cursor.touched >= keep_touched)
        });
        self.keys.retain(|day, _| *day >= keys_from);
        let days_from = keep_from.date_naive() - chrono::Duration::days(1);
        self.days.retain(|day, _| *day >= days_from);
    }
}

/// Dates as day numbers: formatting and parsing them as text was most of the cost of loading the ledger.
mod compact {
    use chrono::{Datelike, NaiveDate};

    fn to_days(date: &NaiveDate) -> i32 {
        date.num_days_from_ce()
    }

    fn from_days<E: serde::de::Error>(days: i32) -> Result<NaiveDate, E> {
        NaiveDate::from_num_days_from_ce_opt(days)
            .ok_or_else(|| E::custom(format!("day number {days} is out of range")))
    }

    pub(super) mod date {
        use serde::{Deserialize, Deserializer, Serializer};

        pub(crate) fn serialize<S: Serializer>(date: &chrono::NaiveDate, s: S) -> Result<S::Ok, S::Error> {
            s.serialize_i32(super::to_days(date))
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<chrono::NaiveDate, D::Error> {
            super::from_days(i32::deserialize(d)?)
        }
    }

    pub(super) mod opt_date {
        use serde::{Deserialize, Deserializer, Serialize, Serializer};

        pub(crate) fn serialize<S: Serializer>(date: &Option<chrono::NaiveDate>, s: S) -> Result<S::Ok, S::Error> {
            date.as_ref().map(super::to_days).serialize(s)
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<chrono::NaiveDate>, D::Error> {
            Option::<i32>::deserialize(d)?.map(super::from_days).transpose()
        }
    }

    pub(super) mod date_map {
        use serde::{Deserialize, Deserializer, Serialize, Serializer};
        use std::collections::BTreeMap;

        pub(crate) fn serialize<S: Serializer, V: Serialize>(
            map: &BTreeMap<chrono::NaiveDate, V>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            s.collect_seq(map.iter().map(|(date, value)| (super::to_days(date), value)))
        }

        pub(crate) fn deserialize<'de, D: Deserializer<'de>, V: Deserialize<'de>>(
            d: D,
        ) -> Result<BTreeMap<chrono::NaiveDate, V>, D::Error> {
            Vec::<(i32, V)>::deserialize(d)?
                .into_iter()
                .map(|(days, value)| Ok((super::from_days(days)?, value)))
                .collect()
        }
    }
}
