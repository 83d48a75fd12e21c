//! `ccbreaker gate`: what ccbreaker's mod (`mod/ccbreaker-gate.js`, for Claude Code 2.1.331 and later) asks before
//! every model request, subagent, compaction and engine send, and tells once a request has finished. One JSON
//! object on stdin, one on stdout. The mod never decides: the answer comes from the same ledger, through the same
//! steps and the same verdict as a hook's ([`super::run`], [`crate::verdict`]); this module only reads the
//! request and keeps the mod's part of the ledger (the steps it saw finish, the requests in flight).
//!
//! The request: `{"op": "step" | "end" | "spawn" | "compact" | "send", "session": ID, "transcript": PATH,
//! "agent": ID | "", "step": "<turn id>/<index>", "model": M, "usage": {the step's usage, as turn.step reports it} |
//! null, "tools": [tool_use ids], "rate_limits": [the client's plan readings]}`. The answer: `{"allow": true}` (with
//! `"message"` for a warning or a notice, and for a spawn past `policy.downgrade_at`, `"model"`: the subagent's) or
//! `{"allow": false, "reason": R}`; anything else, a non-zero exit or no answer in time, the mod takes as a refusal.

use super::event::{Event, EventKind, ModAsk};
use super::output::Answer;
use super::run::Call;
use crate::env::Env;
use crate::error::Error;
use crate::ledger::overlay::{self, Reported};
use crate::ledger::state::{Provisional, Reservation};
use crate::ledger::store::Locked;
use crate::pricing::{PriceTable, ResponseFacts, Speed};
use crate::usage::Usage;
use crate::verdict::Ask;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::path::PathBuf;

/// The largest request read: a few hundred bytes in practice (a step's tool-call ids are the longest part).
const MAX_REQUEST: usize = 1 << 20;

/// What the mod sends.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub(crate) struct Request {
    pub op: String,
    pub session: Option<String>,
    /// The main conversation's transcript (`$.session.info().transcriptPath`; empty in a session that keeps none).
    pub transcript: Option<String>,
    /// The subagent asking (`e.agentId`), or for `spawn` the one spawning; empty or absent: the main conversation.
    pub agent: Option<String>,
    /// The step (`<turn id>/<index>`), for `step` and `end`.
    pub step: Option<String>,
    /// The model the step names, for `step`; for `spawn`, the model the Agent tool named (absent: inherited).
    pub model: Option<String>,
    /// The finished step's usage, for `end` (null when no response arrived).
    pub usage: Option<StepUsage>,
    /// The ids of the tool calls the finished step made, for `end`.
    pub tools: Vec<String>,
    /// The plan's windows as the client last read them (`$.session.usage().rateLimits`, see
    /// [`crate::plan::client_readings`]), for `step` and `spawn`; empty for an API key.
    pub rate_limits: serde_json::Value,
}

/// A `turn.step` result's `usage` (TurnUsage): the API's counts, and the model that answered.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub(crate) struct StepUsage {
    pub model: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cache_read_input_tokens: u64,
    pub cache_creation_input_tokens: u64,
    pub ephemeral_5m_input_tokens: Option<u64>,
    pub ephemeral_1h_input_tokens: Option<u64>,
}

impl StepUsage {
    /// As the transcripts' rule reads a usage: cache writes by lifetime, the part no lifetime names as 5-minute
    /// writes.
    fn usage(&self) -> Usage {
        let hour = self.ephemeral_1h_input_tokens.unwrap_or(0);
        let five = self.ephemeral_5m_input_tokens.unwrap_or(0);
        let rest = self.cache_creation_input_tokens.saturating_sub(hour + five);
        Usage {
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            cache_creation_5m_tokens: five + rest,
            cache_creation_1h_tokens: hour,
            cache_read_tokens: self.cache_read_input_tokens,
            web_search_requests: 0,
        }
    }
}

impl Request {
    fn ask(&self) -> Option<ModAsk> {
        match self.op.as_str() {
            "step" => Some(ModAsk::Step),
            "end" => Some(ModAsk::StepEnd),
            "spawn" => Some(ModAsk::Spawn),
            "compact" => Some(ModAsk::Compact),
            "send" => Some(ModAsk::Send),
            _ => None,
        }
    }

    pub(crate) fn agent(&self) -> &str {
        self.agent.as_deref().unwrap_or("")
    }

    fn step(&self) -> &str {
        self.step.as_deref().unwrap_or("")
    }
}

/// Why the mod's request cannot be read.
#[derive(Debug, thiserror::Error, PartialEq)]
pub(crate) enum RequestError {
    #[error("the gate's input on stdin is larger than {} KiB", MAX_REQUEST >> 10)]
    TooLarge,
    #[error("the gate's input on stdin is not a request of ccbreaker's mod: {0}")]
    Invalid(String),
    #[error("the gate's input asks `{0}`, which is none of step, end, spawn, compact, send")]
    UnknownOp(String),
    #[error("the gate's `{0}` request names no `step`")]
    NoStep(String),
}

/// The request, and the event the hook's steps read it as.
pub(crate) fn parse(stdin: &[u8]) -> Result<(Event, Request), RequestError> {
    if stdin.len() > MAX_REQUEST {
        return Err(RequestError::TooLarge);
    }
    let request: Request = serde_json::from_slice(stdin).map_err(|e| RequestError::Invalid(e.to_string()))?;
    let Some(ask) = request.ask() else { return Err(RequestError::UnknownOp(request.op)) };
    if matches!(ask, ModAsk::Step | ModAsk::StepEnd) && request.step().is_empty() {
        return Err(RequestError::NoStep(request.op));
    }
    let event = Event {
        session_id: request.session.clone().filter(|s| !s.is_empty()),
        transcript_path: request.transcript.as_deref().filter(|t| !t.is_empty()).map(PathBuf::from),
        hook_event_name: Some(ask.name().to_owned()),
        agent_id: request.agent.clone().filter(|a| !a.is_empty()),
        ..Event::default()
    };
    Ok((event, request))
}

/// `ccbreaker gate`: the mod's request on stdin, the answer for stdout.
pub(crate) fn run(stdin: &[u8], env: &Env, now: Result<DateTime<Utc>, Error>) -> Answer {
    let parsed = parse(stdin).map_err(|err| crate::error::report(&err));
    super::run::serve(parsed.map(|(event, request)| (event, Some(request))), env, now)
}

/// What the verdict counts for this request.
pub(crate) fn ask<'a>(kind: EventKind, request: &'a Request) -> Ask<'a> {
    match kind {
        EventKind::Mod(ModAsk::Step) => Ask::Step(request.step()),
        EventKind::Mod(ModAsk::Spawn | ModAsk::Compact) => Ask::Start,
        EventKind::Mod(ModAsk::Send) => Ask::Send,
        _ => Ask::Hook,
    }
}

/// The client that sent the request: `ccbreaker gate` is its child (the mod runs it with `$.process.run`).
fn client_pid() -> u32 {
    #[cfg(unix)]
    {
        std::os::unix::process::parent_id()
    }
    #[cfg(not(unix))]
    {
        0
    }
}

/// The client and when it started (see [`started`]): what a reservation records.
fn client() -> (u32, u64) {
    let pid = client_pid();
    (pid, started(pid).unwrap_or(0))
}

/// When process `pid` started (clock ticks since boot, `/proc/<pid>/stat` field 22), so a pid reused by another
/// process is not taken for it.
#[cfg(target_os = "linux")]
fn started(pid: u32) -> Option<u64> {
    use std::io::Read;
    // Read in 1 KiB chunks: `/proc` files have no size, so `fs::read_to_string` stats the file and grows its buffer
    // from 32 bytes (six reads for one ~300-byte line).
    let mut file = std::fs::File::open(format!("/proc/{pid}/stat")).ok()?;
    let (mut bytes, mut chunk) = (Vec::with_capacity(1024), [0; 1024]);
    loop {
        match file.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    let stat = std::str::from_utf8(&bytes).ok()?;
    stat.rsplit_once(") ")?.1.split(' ').nth(19)?.parse().ok()
}

#[cfg(not(target_os = "linux"))]
fn started(_pid: u32) -> Option<u64> {
    None
}

/// Whether the client `pid` that started at `start` still runs.
fn alive(pid: u32, start: u64) -> bool {
    #[cfg(target_os = "linux")]
    {
        started(pid).is_some_and(|now| start == 0 || now == start)
    }
    #[cfg(all(unix, not(target_os = "linux")))]
    {
        let _ = start;
        rustix::process::Pid::from_raw(pid as i32).is_some_and(|p| rustix::process::test_kill_process(p).is_ok())
    }
    #[cfg(not(unix))]
    {
        let _ = (pid, start);
        true
    }
}

/// The mod's part of the ledger, kept on every request before deciding: what has outlived its time goes, the
/// requests of exited clients are over, a step's own agent has no request in flight any more (its requests follow
/// one another), and a finished step is counted (provisional until the transcript shows its response).
pub(crate) fn keep(locked: &mut Locked, call: &Call, request: &Request, prices: &PriceTable) {
    // Only the pid: when the client started is read where a reservation records it (one `/proc` read less).
    let pid = client_pid();
    let zone = call.config.budget.timezone;
    let mut dropped = 0;
    for session in locked.ledger.sessions.values_mut() {
        dropped += if session.provisional.is_empty() && session.counted.is_empty() && session.reserved.is_empty() {
            0
        } else {
            overlay::expire(session, call.now)
        };
    }
    if dropped > 0 {
        locked.ledger.note(format!(
            "{dropped} step(s) the mod reported were never found in the transcripts within {} minutes; no longer counted",
            overlay::PROVISIONAL_TTL.num_minutes()
        ));
    }
    overlay::forget_exited(&mut locked.ledger, alive);
    let session = locked.ledger.sessions.entry(call.session.clone()).or_default();
    match call.kind {
        EventKind::Mod(ModAsk::Step) => overlay::release(session, request.agent(), pid),
        EventKind::Mod(ModAsk::StepEnd) => {
            // When the gate let the step through (its response was written later); without its reservation (it
            // expired), any time.
            let since =
                session.reserved.iter().find(|r| r.step == request.step()).map_or(DateTime::UNIX_EPOCH, |r| r.at);
            session.reserved.retain(|r| r.step != request.step());
            let Some(usage) = &request.usage else { return };
            let tokens = usage.usage();
            let model =
                if usage.model.is_empty() { request.model.clone().unwrap_or_default() } else { usage.model.clone() };
            let facts = ResponseFacts {
                model: &model,
                usage: &tokens,
                speed: Speed::Standard,
                inference_geo: None,
                date: call.now.date_naive(),
            };
            let cost = prices.price(&facts).cost;
            let step = Provisional {
                step: request.step().to_owned(),
                agent: request.agent().to_owned(),
                key: overlay::key(&model, &tokens),
                tools: request.tools.clone(),
                usage: tokens,
                cost,
                day: zone.date_of(call.now),
                at: call.now,
                since,
            };
            if overlay::report(session, step) == Reported::Provisional {
                session.max_response = session.max_response.max(cost);
            }
            // A hook at this step's tool calls need not wait for the response to reach the transcript.
            session.remember_tool_uses(&request.tools);
        }
        _ => {}
    }
}

/// Records the plan readings the request carries, as `ccbreaker statusline` records its payload's (under the lock,
/// before the ledger copies them: the state directory exists).
pub(crate) fn record_plan(locked: &mut Locked, call: &Call, request: &Request) {
    let readings = crate::plan::client_readings(&request.rate_limits);
    if let Err(err) = crate::plan::record(&call.state_dir, &readings, call.now) {
        let file = crate::plan::path(&call.state_dir);
        locked.ledger.note(format!("could not record the plan's usage in {}: {err}", file.display()));
    }
}

/// Holds the estimate of a step the gate let through.
pub(crate) fn reserve(locked: &mut Locked, call: &Call, request: &Request, prices: &PriceTable) {
    let amount = call.judge(locked).reservation(request.model.as_deref(), prices, call.now);
    let (pid, pid_start) = client();
    let reservation = Reservation {
        step: request.step().to_owned(),
        agent: request.agent().to_owned(),
        amount,
        at: call.now,
        pid,
        pid_start,
    };
    overlay::reserve(locked.ledger.sessions.entry(call.session.clone()).or_default(), reservation);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_read_leniently_and_checked() {
        let (event, request) =
            parse(br#"{"op":"step","session":"s","transcript":"/t/s.jsonl","agent":"","step":"t/0","x":1}"#).unwrap();
        assert_eq!(event.hook_event_name.as_deref(), Some("turn.step"));
        assert_eq!(event.kind(), EventKind::Mod(ModAsk::Step));
        assert_eq!((event.agent_id, request.agent()), (None, ""));
        assert_eq!(event.transcript_path, Some(PathBuf::from("/t/s.jsonl")));
        assert_eq!(parse(br#"{"op":"launch"}"#).unwrap_err(), RequestError::UnknownOp("launch".into()));
        assert_eq!(parse(br#"{"op":"end"}"#).unwrap_err(), RequestError::NoStep("end".into()));
        assert!(matches!(parse(b"[1]"), Err(RequestError::Invalid(_))));
        assert!(matches!(parse(br#"{"op":"send","tools":"x"}"#), Err(RequestError::Invalid(_))));
        assert_eq!(parse(&vec![b' '; MAX_REQUEST + 1]).unwrap_err(), RequestError::TooLarge);
    }

    #[test]
    fn a_steps_usage_splits_its_cache_writes_as_the_transcripts_do() {
        let u = StepUsage {
            cache_creation_input_tokens: 100,
            ephemeral_5m_input_tokens: Some(30),
            ephemeral_1h_input_tokens: Some(50),
            ..StepUsage::default()
        };
        assert_eq!((u.usage().cache_creation_5m_tokens, u.usage().cache_creation_1h_tokens), (50, 50));
        let bare = StepUsage { cache_creation_input_tokens: 100, ..StepUsage::default() };
        assert_eq!(bare.usage().cache_creation_5m_tokens, 100);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_client_is_alive_while_it_runs_with_its_own_start() {
        let me = std::process::id();
        let start = started(me).unwrap();
        assert!(alive(me, start));
        assert!(!alive(me, start + 1), "a pid reused by another process");
        assert!(!alive(u32::MAX - 1, 0));
    }
}
