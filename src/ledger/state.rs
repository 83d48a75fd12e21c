//! The ledger's on-disk shape: versioned, with every field defaulted so a newer or older field set still loads.

use crate::usage::{Pico, Usage};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Bumped whenever a field is added, removed or changes meaning (the encoding is positional); a ledger of another
/// version is rebuilt from the transcripts.
pub(crate) const VERSION: u32 = 9;

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
    /// Problems seen while reading transcripts, newest last (bounded).
    pub notes: Vec<String>,
    /// Transcript roots learned from hooked sessions whose transcripts lie outside the configured ones (bounded).
    pub roots: Vec<String>,
    /// The content hash of the config file last read whole and valid, so the copy kept beside the ledger
    /// (`config.last-good.toml`) is written only when the config changes.
    pub config_hash: u64,
    /// Spend of every session by UTC hour (hours since the Unix epoch), for the 5-hour billing block.
    pub hours: BTreeMap<i64, Pico>,
    /// Spend of every session by model (keyed by the tag of the model's name as written), for the model budgets.
    pub models: BTreeMap<u32, ModelSpend>,
    /// Spend of every session by minute (since the Unix epoch), the last [`MINUTES_KEPT`], for the burn rate.
    pub minutes: BTreeMap<i64, Pico>,
    /// Where the last walk of every root stopped when its call's time ran out: the next walk goes on from there.
    pub walk_from: Option<String>,
    /// The plan's usage windows as last recorded (`five_hour`, `seven_day`), copied from `plan-usage.json` by a hook
    /// when a plan budget is set: (percentage used, when the window resets, when the reading was seen).
    pub plan: BTreeMap<String, PlanReading>,
}

/// One plan window's newest reading.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub(crate) struct PlanReading {
    pub used_percentage: f64,
    #[serde(with = "chrono::serde::ts_microseconds_option")]
    pub resets_at: Option<DateTime<Utc>>,
    #[serde(with = "chrono::serde::ts_microseconds_option")]
    pub seen_at: Option<DateTime<Utc>>,
}

/// One model's spend by local day.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub(crate) struct ModelSpend {
    /// The normalised name (see [`crate::pricing::normalize`]).
    pub name: String,
    #[serde(with = "compact::date_map")]
    pub days: BTreeMap<NaiveDate, Pico>,
}

/// Money and tokens summed over responses.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub(crate) struct Spend {
    pub cost: Pico,
    pub usage: Usage,
    pub responses: u64,
    /// Responses whose final usage Claude Code never wrote (counted as recorded): while there are any, `cost` is a
    /// lower bound.
    pub incomplete: u64,
    /// Their output rates summed (pico-dollars per output token), and what their recorded output cost: an estimate
    /// of E output tokens each is `E x incomplete_rate - incomplete_output_cost`.
    pub incomplete_rate: u64,
    pub incomplete_output_cost: Pico,
}

/// One response's share of a [`Spend`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Share {
    pub cost: Pico,
    pub usage: Usage,
    pub incomplete: bool,
    pub rate: u64,
}

impl Spend {
    pub(crate) fn add(&mut self, share: &Share) {
        self.cost += share.cost;
        self.usage.add(&share.usage);
        self.responses += 1;
        if share.incomplete {
            self.incomplete += 1;
            self.incomplete_rate = self.incomplete_rate.saturating_add(share.rate);
            self.incomplete_output_cost += Pico(share.usage.output_tokens.saturating_mul(share.rate));
        }
    }

    /// Takes back a response added before (saturating, so a corrupt ledger cannot wrap).
    pub(crate) fn sub(&mut self, share: &Share) {
        self.cost = self.cost.saturating_sub(share.cost);
        self.usage.sub(&share.usage);
        self.responses = self.responses.saturating_sub(1);
        if share.incomplete {
            self.incomplete = self.incomplete.saturating_sub(1);
            self.incomplete_rate = self.incomplete_rate.saturating_sub(share.rate);
            self.incomplete_output_cost =
                self.incomplete_output_cost.saturating_sub(Pico(share.usage.output_tokens.saturating_mul(share.rate)));
        }
    }

    /// What the responses that lack their final usage would cost more at `per_response` output tokens each (less
    /// the output they recorded): the estimate a budget adds.
    pub(crate) fn estimate(&self, per_response: u64) -> Pico {
        let full = u128::from(per_response) * u128::from(self.incomplete_rate);
        let more = full.saturating_sub(u128::from(self.incomplete_output_cost.0));
        Pico(u64::try_from(more).unwrap_or(u64::MAX))
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
    /// Output tokens of its latest finished responses (newest last): their median is what an unfinished one is
    /// estimated at.
    pub recent_outputs: Vec<u64>,
    /// The session's own transcript was tampered with: refused until a person allows the session again.
    pub tampered: Option<Tampered>,
    /// The newest `ccbreaker allow` grant this session's hook has applied (warnings reset, tamper lifted).
    #[serde(with = "chrono::serde::ts_microseconds_option")]
    pub grant_seen: Option<DateTime<Utc>>,
    /// The session's project directory (the `cwd` of its first response) and git branch (of its latest), for the
    /// project budgets.
    pub dir: String,
    pub branch: String,
    /// Warnings shown for the scopes beyond the session and the day: each scope's key and period (see
    /// [`crate::scopes`]).
    pub warned: Vec<String>,
    /// The session's spend by minute, the last [`MINUTES_KEPT`] (the burn rate).
    pub minutes: BTreeMap<i64, Pico>,
    /// The latest tool calls its hooks saw (newest last, at most [`RECENT_CALLS`]): the loop breaker's memory.
    pub calls: Vec<CallSeen>,
    /// A breaker stopped the session: why. Every call is refused until a person allows the session again.
    pub tripped: Option<Tripped>,
    /// Subagents started under the subagent caps, running or lately ended (at most [`RECENT_SPAWNS`]).
    pub spawns: Vec<Spawn>,
    /// How many subagents the session started (that the caps let through).
    pub spawned: u64,
    /// The session was told that its new subagents start on `policy.downgrade_model`.
    pub downgrade_told: bool,
    /// The latest requests the API refused, from the client's synthetic error lines (at most [`RECENT_API_ERRORS`]).
    pub api_errors: Vec<ApiErrorSeen>,
    /// What the latest response counted cost: the `policy.reserve = "last"` estimate of a request in flight.
    pub last_response: Pico,
    /// When ccbreaker's mod last asked the gate about this session (`gates: mod+hooks` in `status`).
    #[serde(with = "chrono::serde::ts_microseconds_option")]
    pub mod_seen: Option<DateTime<Utc>>,
    /// The latest refusal of a gate (the mod's or a hook's) in this session: what `ccbreaker exec` reads to tell a
    /// halted run from a finished one.
    pub halted: Option<Halted>,
    /// Steps the mod saw finish whose responses the transcripts do not show yet (see [`super::overlay`]).
    pub provisional: Vec<Provisional>,
    /// Responses lately counted from the transcripts of a mod-gated session, and the step of the mod that claimed
    /// each (see [`super::overlay`]).
    pub counted: Vec<Counted>,
    /// Model requests the gate let through that are still in flight, each holding its estimate.
    pub reserved: Vec<Reservation>,
}

/// A gate's refusal: when, by which gate (`mod` or `hooks`), at which event, and why.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub(crate) struct Halted {
    #[serde(with = "chrono::serde::ts_microseconds")]
    pub at: DateTime<Utc>,
    pub by: String,
    pub event: String,
    pub reason: String,
}

/// A model request the mod saw finish, with the usage the API reported, counted until the transcripts show the
/// response it is (then that response counts, once) or [`super::overlay::PROVISIONAL_TTL`] passes.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub(crate) struct Provisional {
    /// The mod's id of the step (`<turn id>/<index>`): a report made twice counts once.
    pub step: String,
    /// The subagent that made it (`""`: the main conversation), i.e. the transcript file it will appear in.
    pub agent: String,
    pub key: u64,
    pub tools: Vec<String>,
    pub usage: Usage,
    pub cost: Pico,
    #[serde(with = "compact::date")]
    pub day: NaiveDate,
    /// When it was reported.
    #[serde(with = "chrono::serde::ts_microseconds")]
    pub at: DateTime<Utc>,
    /// When the gate let it through: its response cannot have been written before.
    #[serde(with = "chrono::serde::ts_microseconds")]
    pub since: DateTime<Utc>,
}

/// A response lately counted from the transcripts of a mod-gated session: a report of the mod that arrives after
/// the response was read claims it here instead of counting it a second time.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub(crate) struct Counted {
    pub agent: String,
    pub key: u64,
    pub tools: Vec<String>,
    /// The step that claimed it (`""`: none yet).
    pub step: String,
    /// When it was counted.
    #[serde(with = "chrono::serde::ts_microseconds")]
    pub at: DateTime<Utc>,
    /// Its timestamp in the transcript: only a step let through before it can be it.
    #[serde(with = "chrono::serde::ts_microseconds")]
    pub written: DateTime<Utc>,
}

/// A model request the gate let through, in flight: its estimate is held against every budget until it finishes,
/// its client exits, or [`super::overlay::RESERVATION_TTL`] passes.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub(crate) struct Reservation {
    pub step: String,
    pub agent: String,
    pub amount: Pico,
    #[serde(with = "chrono::serde::ts_microseconds")]
    pub at: DateTime<Utc>,
    /// The Claude Code process that sends it, and when that process started (a pid reused by another process is
    /// not it).
    pub pid: u32,
    pub pid_start: u64,
}

/// A request the API refused, as a transcript's synthetic error line tells it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub(crate) struct ApiErrorSeen {
    pub at_ms: i64,
    pub kind: String,
}

/// How many refused requests a session remembers.
pub(crate) const RECENT_API_ERRORS: usize = 256;

/// A subagent the caps let start.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub(crate) struct Spawn {
    /// Its `agent_id`, once an event of its own names it; empty until then.
    pub agent: String,
    /// 1: started by the main conversation; 2: by a subagent of it; ...
    pub depth: u64,
    #[serde(with = "chrono::serde::ts_microseconds")]
    pub at: DateTime<Utc>,
    pub done: bool,
}

/// How many subagents a session remembers for the caps.
pub(crate) const RECENT_SPAWNS: usize = 512;

/// One tool call as the loop breaker remembers it.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub(crate) struct CallSeen {
    /// Hash of the agent that made it (its thread: the main one is 0).
    pub agent: u64,
    /// Hash of the tool's name and normalised input.
    pub key: u64,
    pub at_ms: i64,
    /// It changes a file.
    pub writes: bool,
}

/// Why and when a breaker stopped a session.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub(crate) struct Tripped {
    #[serde(with = "chrono::serde::ts_microseconds")]
    pub at: DateTime<Utc>,
    pub reason: String,
}

/// How many tool calls a session remembers for the loop breaker.
pub(crate) const RECENT_CALLS: usize = 64;

/// How many minutes of spend the ledger keeps for the burn rate.
pub(crate) const MINUTES_KEPT: i64 = crate::config::MAX_BURN_MINUTES as i64;

/// Adds `cost` at `minute` to a map of spend by minute, keeping the last [`MINUTES_KEPT`] minutes.
pub(crate) fn add_minute(minutes: &mut BTreeMap<i64, Pico>, minute: i64, cost: Pico) {
    *minutes.entry(minute).or_default() += cost;
    if let Some(&newest) = minutes.keys().next_back() {
        while minutes.first_key_value().is_some_and(|(m, _)| *m <= newest - MINUTES_KEPT) {
            minutes.pop_first();
        }
    }
}

/// Takes `cost` back out of `minute`, if it is still kept.
pub(crate) fn sub_minute(minutes: &mut BTreeMap<i64, Pico>, minute: i64, cost: Pico) {
    if let Some(m) = minutes.get_mut(&minute) {
        *m = m.saturating_sub(cost);
    }
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

/// How many finished responses' output a session remembers for its median.
pub(crate) const RECENT_OUTPUTS: usize = 32;

/// How many tool-call ids a session remembers.
pub(crate) const RECENT_TOOL_USES: usize = 16;

impl SessionSpend {
    pub(crate) fn day(&self, date: NaiveDate) -> Spend {
        self.days.get(&date).copied().unwrap_or_default()
    }

    pub(crate) fn saw_tool_use(&self, id: &str) -> bool {
        self.recent_tool_uses.iter().any(|seen| seen == id)
    }

    /// What a budget adds for the session's responses whose final usage was never written (on its total, or on
    /// `day`): `per_response` output tokens each (`None`: the session's median), less what they recorded.
    pub(crate) fn estimate(&self, per_response: Option<u64>, day: Option<NaiveDate>) -> Pico {
        let spend = match day {
            Some(day) => self.day(day),
            None => self.total,
        };
        if spend.incomplete == 0 {
            return Pico(0);
        }
        spend.estimate(per_response.unwrap_or_else(|| self.median_output()))
    }

    pub(crate) fn remember_output(&mut self, output: u64) {
        self.recent_outputs.push(output);
        let excess = self.recent_outputs.len().saturating_sub(RECENT_OUTPUTS);
        self.recent_outputs.drain(..excess);
    }

    /// The median output of the latest finished responses (the mean of the two middle ones, rounded down, for an
    /// even count); 0 without any.
    pub(crate) fn median_output(&self) -> u64 {
        let mut outputs = self.recent_outputs.clone();
        outputs.sort_unstable();
        match outputs.len() {
            0 => 0,
            n if n % 2 == 1 => outputs[n / 2],
            n => (outputs[n / 2 - 1] + outputs[n / 2]) / 2,
        }
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
    pub malformed_lines: u64,
    /// When the file last grew (Unix seconds): cursors of files idle for days are dropped.
    pub touched: i64,
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

/// How many hours of spend the ledger keeps for the 5-hour block.
pub(crate) const HOURS_KEPT: i64 = 48;

/// How many notes the ledger keeps.
pub(crate) const MAX_NOTES: usize = 20;

impl Ledger {
    pub(crate) fn new(timezone: &str) -> Ledger {
        Ledger { timezone: timezone.to_owned(), ..Ledger::default() }
    }

    pub(crate) fn day(&self, date: NaiveDate) -> Spend {
        self.days.get(&date).copied().unwrap_or_default()
    }

    /// The estimate every session adds to `date` for its responses whose final usage was never written.
    pub(crate) fn day_estimate(&self, date: NaiveDate, per_response: Option<u64>) -> Pico {
        let mut total = Pico(0);
        for session in self.sessions.values() {
            total += session.estimate(per_response, Some(date));
        }
        total
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
            .filter(|(id, s)| {
                // A session with a request in flight or a step reported is active, whatever its transcripts say.
                let in_flight = !s.reserved.is_empty() || !s.provisional.is_empty();
                id.as_str() != keep_session && !in_flight && s.last_activity.is_none_or(|t| t < keep_from)
            })
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
        for model in self.models.values_mut() {
            model.days.retain(|day, _| *day >= days_from);
        }
        self.models.retain(|_, m| !m.days.is_empty());
        // The block in force started at most 5 hours ago, and where it started follows from the hours before it back
        // to a gap of 5 empty hours: two days of hours place it unless every hour of them was busy.
        if let Some(&newest) = self.hours.keys().next_back() {
            self.hours.retain(|hour, _| *hour > newest - HOURS_KEPT);
        }
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
        use serde::{Deserialize, Deserializer, Serialize, Serializer};

        pub(crate) fn serialize<S: Serializer>(date: &chrono::NaiveDate, s: S) -> Result<S::Ok, S::Error> {
            super::to_days(date).serialize(s)
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
