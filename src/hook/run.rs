//! One hook call, start to finish: parse the event, load the config, check for tampering, then bring the ledger
//! up to date, wait for the response that issued the call when that could matter, decide, save and answer. The
//! call is one value ([`Call`]) that each step reads; errors in ccbreaker's own files go through
//! `policy.on_error` in one place ([`own_fault`]); and every answer, whatever the path to it, is logged once.

use super::event::{Event, EventKind};
use super::output::{Action, Answer, render};
use super::tamper;
use crate::audit;
use crate::config::{self, Config, OnBreach, OnError};
use crate::env::Env;
use crate::error::Error;
use crate::install;
use crate::ledger::state::{HookTimings, SessionSpend};
use crate::ledger::store::{Locked, Store};
use crate::paths;
use crate::policy::{self, Limits, Scope, Standing, Verdict};
use crate::pricing::{ResponseFacts, Speed};
use crate::sync::{self, Scan};
use crate::transcript::discover;
use crate::usage::{Pico, Usage};
use chrono::{DateTime, NaiveDate, Utc};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Everything one hook call knows, built once: the event, whose session it is, the config and where it came
/// from, where the state lives, and the clock.
pub(crate) struct Call<'a> {
    pub(crate) env: &'a Env,
    pub(crate) event: &'a Event,
    pub(crate) kind: EventKind,
    pub(crate) session: String,
    pub(crate) config: Config,
    pub(crate) config_path: PathBuf,
    pub(crate) state_dir: PathBuf,
    pub(crate) now: DateTime<Utc>,
    pub(crate) started: Instant,
    /// When the event was parsed and the config loaded.
    pub(crate) parsed_at: Duration,
}

/// How a call ended: the answer, and what the log line records beside it.
struct Outcome {
    answer: Answer,
    session: Option<String>,
    wait_us: u64,
}

impl Outcome {
    fn of(answer: Answer, session: Option<&str>) -> Outcome {
        Outcome { answer, session: session.map(str::to_owned), wait_us: 0 }
    }
}

/// Runs the hook for one event. `now` is the clock (`CCBREAKER_NOW` or the system's), or why it could not be read.
pub(crate) fn run(stdin: &[u8], env: &Env, now: Result<DateTime<Utc>, Error>) -> Answer {
    let started = Instant::now();
    let logged_at = now.as_ref().map_or_else(|_| Utc::now(), |now| *now);
    let (event, outcome) = match Event::parse(stdin) {
        Ok(event) => {
            let outcome = respond(&event, env, now, started);
            (event, outcome)
        }
        Err(err) => (Event::default(), Outcome::of(Answer::error(&crate::error::report(&err)), None)),
    };
    log(env, &event, &outcome, logged_at, started);
    outcome.answer
}

/// Everything after parsing: config, session, tamper check, decision.
fn respond(event: &Event, env: &Env, now: Result<DateTime<Utc>, Error>, started: Instant) -> Outcome {
    let kind = event.kind();
    let config_path = paths::config_file(env);
    let config = match config::load(&config_path) {
        Ok(loaded) => loaded.config,
        Err(err) => {
            let (on_error, source) = match env.on_error.as_deref().and_then(OnError::parse) {
                Some(on_error) => (on_error, OnErrorSource::Env),
                None => (OnError::Allow, OnErrorSource::Unreadable),
            };
            return Outcome::of(own_fault(kind, &Error::from(err), on_error, OnBreach::Stop, source), None);
        }
    };
    let Some(session) = session_of(event) else {
        let answer = if kind.can_block() {
            Answer::error("hook input has neither `transcript_path` nor `session_id`")
        } else {
            Answer::silent()
        };
        return Outcome::of(answer, None);
    };
    let now = match now {
        Ok(now) => now,
        Err(err) => {
            let (on_error, on_breach) = (config.policy.on_error, config.policy.on_breach);
            return Outcome::of(own_fault(kind, &err, on_error, on_breach, OnErrorSource::Config), Some(&session));
        }
    };
    let call = Call {
        env,
        event,
        kind,
        session,
        state_dir: paths::state_dir(env),
        config,
        config_path,
        now,
        started,
        parsed_at: started.elapsed(),
    };
    if let Some(reason) = tampering(&call) {
        call.audit(audit::Kind::Tamper, &reason);
        // A refusal, not a breach: the session goes on without this call.
        let on_breach = call.config.policy.on_breach;
        let mode = if on_breach == OnBreach::ExitCode { OnBreach::ExitCode } else { OnBreach::Deny };
        return Outcome::of(render(kind, &Action::Block(reason), mode), Some(&call.session));
    }
    let policy = &call.config.policy;
    match decide(&call) {
        Ok(decision) => {
            if let (Action::Block(reason), true) = (&decision.action, kind.can_block()) {
                call.audit(audit::Kind::Breach, reason);
            }
            let answer = render(kind, &decision.action, policy.on_breach);
            Outcome { answer, session: Some(call.session), wait_us: decision.wait_us }
        }
        Err(err) => {
            if policy.on_error == OnError::Block && kind.can_block() {
                call.audit(audit::Kind::Error, &err.report());
            }
            let answer = own_fault(kind, &err, policy.on_error, policy.on_breach, OnErrorSource::Config);
            Outcome::of(answer, Some(&call.session))
        }
    }
}

impl Call<'_> {
    fn audit(&self, kind: audit::Kind, detail: &str) {
        let entry = audit::Entry {
            at: self.now,
            kind,
            session: Some(self.session.clone()),
            agent_id: self.event.agent_id.clone(),
            event: self.event.hook_event_name.clone(),
            tool: self.event.tool_name.clone(),
            detail: detail.to_owned(),
        };
        // The audit trail must never change the answer.
        let _ = audit::append(&self.state_dir, &entry);
    }

    fn today(&self) -> NaiveDate {
        self.config.budget.timezone.date_of(self.now)
    }
}

/// The tamper check of a `PreToolUse` (see [`tamper`]): what ccbreaker owns and the settings files that hold its
/// hooks, for this event's working directory.
fn tampering(call: &Call) -> Option<String> {
    let event = call.event;
    let input = event.tool_input.as_ref().filter(|_| call.kind == EventKind::PreToolUse)?;
    let cwd = event.cwd.as_deref().map(PathBuf::from).or_else(|| std::env::current_dir().ok()).unwrap_or_default();
    let settings = install::settings_files(call.env, &cwd);
    let binary = std::env::current_exe().ok();
    let protected = tamper::Protected::new(&call.config_path, &call.state_dir, binary, settings, call.env.home.clone());
    tamper::check(event, input, &protected)
}

/// The session an event belongs to: its transcript's file name (the id every file of the session is filed
/// under), else `session_id`.
fn session_of(event: &Event) -> Option<String> {
    event
        .transcript_path
        .as_deref()
        .and_then(discover::session_of_transcript)
        .or_else(|| event.session_id.clone().filter(|id| !id.is_empty()))
}

/// Where the `on_error` that applies to a fault came from, as the fail-open or fail-closed notice names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnErrorSource {
    /// `policy.on_error` in the config.
    Config,
    /// `CCBREAKER_ON_ERROR`, because the config itself could not be read.
    Env,
    /// Neither: the config could not be read and the variable is not set, so the default applies.
    Unreadable,
}

/// A fault of ccbreaker's own (config, state): allow with a visible warning, or block, as configured. The notice
/// carries the whole error, causes included.
fn own_fault(kind: EventKind, err: &Error, on_error: OnError, on_breach: OnBreach, source: OnErrorSource) -> Answer {
    let message = err.report();
    let why = match source {
        OnErrorSource::Config => format!("policy.on_error is \"{}\"", on_error.as_str()),
        OnErrorSource::Env => format!("CCBREAKER_ON_ERROR is \"{}\"", on_error.as_str()),
        OnErrorSource::Unreadable => {
            "the config cannot be read, and without it the default on_error, \"allow\", applies".to_owned()
        }
    };
    let action = match on_error {
        OnError::Allow => {
            Action::Warn(format!("ccbreaker could not check your budgets, so this call is allowed ({why}): {message}"))
        }
        OnError::Block => {
            Action::Block(format!("ccbreaker could not check your budgets, so this call is blocked ({why}): {message}"))
        }
    };
    let mut answer = render(kind, &action, on_breach);
    if answer.stderr.is_empty() {
        answer.stderr = format!("ccbreaker: {message}\n");
    }
    answer
}

/// How often a waiting hook looks at the transcript again.
const POLL: Duration = Duration::from_millis(10);

/// What the hook decided, and how long it waited for the response that issued the call.
struct Decision {
    action: Action,
    wait_us: u64,
}

/// The parts of a call that reading and deciding need: prices and roots, the store, the lock's patience, and the
/// transcript to read (if it may be read).
struct Setup<'a> {
    ctx: sync::Context<'a>,
    store: Store,
    lock_timeout: Duration,
    transcript: Option<&'a Path>,
    /// Said in the ledger on the first save: why the transcript was not read.
    unread: Option<String>,
}

impl<'a> Setup<'a> {
    fn open(call: &'a Call) -> Result<Setup<'a>, Error> {
        let ctx = sync::Context::new(call.env, &call.config, &call.config_path, &call.state_dir, call.now)?;
        let store = Store::open(&call.state_dir)?;
        let lock_timeout = call.env.lock_timeout()?;
        let given = call.event.transcript_path.as_deref();
        let transcript = given.filter(|path| readable_transcript(path, call, &ctx));
        let unread = match (transcript, given) {
            (None, Some(path)) => Some(format!(
                "did not read `{}`: it is outside every transcript root (set transcripts.allow_any_path to read it)",
                path.display()
            )),
            _ => None,
        };
        Ok(Setup { ctx, store, lock_timeout, transcript, unread })
    }

    /// Takes the lock and reads what is new: the session's own files, and every root when a walk is due.
    fn lock_and_read(&mut self, call: &Call, timings: &mut HookTimings) -> Result<Locked, Error> {
        let before_lock = call.started.elapsed();
        let mut locked = self.store.lock(self.lock_timeout, &self.ctx.ledger_basis())?;
        let locked_at = call.started.elapsed();
        timings.lock_us += micros(locked_at - before_lock);
        if let Some(note) = self.unread.take() {
            locked.ledger.note(note);
        }
        // Marked before reading, so the tool-call ids of this read are remembered for the session.
        locked.ledger.sessions.entry(call.session.clone()).or_default().hooked = true;
        let read = sync::sync(&mut locked, self.transcript, Scan::IfDue, &self.ctx)?;
        timings.tail_us += micros(call.started.elapsed() - locked_at);
        timings.files_read += read.stats.files;
        timings.bytes_read += read.stats.bytes;
        timings.scanned |= read.scanned;
        Ok(locked)
    }
}

/// A transcript the hook may open: under a transcript root (as spelled, or once resolved), without `..`, unless
/// the config allows any path.
fn readable_transcript(path: &Path, call: &Call, ctx: &sync::Context) -> bool {
    let transcripts = &call.config.transcripts;
    if transcripts.allow_any_path {
        return true;
    }
    if path.components().any(|c| c == std::path::Component::ParentDir) {
        return false;
    }
    let as_given = paths::transcript_roots_as_given(call.env, &transcripts.extra_roots);
    as_given.iter().any(|root| path.starts_with(root))
        || ctx.roots.get().iter().any(|root| paths::is_within(path, root))
}

/// Brings the ledger up to date, waits (near a budget) for the response that issued this call to reach the
/// transcript, and decides.
fn decide(call: &Call) -> Result<Decision, Error> {
    let mut setup = Setup::open(call)?;
    let deadline = call.started + Duration::from_millis(call.config.policy.wait_ms);
    let mut timings = HookTimings { parse_us: micros(call.parsed_at), ..HookTimings::default() };
    let mut wait_started: Option<Instant> = None;
    loop {
        let mut locked = setup.lock_and_read(call, &mut timings)?;
        let read_at = call.started.elapsed();
        let (verdict, worth_waiting) = assess(call, &locked, &setup.ctx);
        if worth_waiting && Instant::now() + POLL <= deadline {
            // The response that issued this call is still being written: let go of the lock, look again soon.
            save(locked)?;
            wait_started.get_or_insert_with(Instant::now);
            std::thread::sleep(POLL);
            continue;
        }
        let action = conclude(&mut locked, call, verdict, setup.ctx.correction.is_some());
        let wait_us = wait_started.map_or(0, |at| micros(at.elapsed()));
        locked.ledger.last_hook = Some(HookTimings {
            decide_us: micros(call.started.elapsed() - read_at),
            wait_us,
            total_us: micros(call.started.elapsed()),
            at: Some(call.now),
            event: call.event.hook_event_name.clone().unwrap_or_default(),
            session: call.session.clone(),
            ..timings
        });
        save(locked)?;
        return Ok(Decision { action, wait_us });
    }
}

/// The session's standing against its limits, and whether waiting for the response that issued this call is
/// worth its latency: the call's `tool_use_id` is not in the transcript yet, and that response could cross a
/// budget.
fn assess(call: &Call, locked: &Locked, ctx: &sync::Context) -> (Verdict, bool) {
    let limits = limits(call, locked);
    let spend = locked.ledger.sessions.get(&call.session);
    let spent = spend.map(|s| s.total.cost).unwrap_or_default();
    let day = locked.ledger.day(call.today()).cost;
    let verdict = policy::assess(spent, day, &limits);
    let pending = match (call.kind, call.event.tool_use_id.as_deref()) {
        (EventKind::PreToolUse, Some(id)) => !spend.is_some_and(|s| s.saw_tool_use(id)),
        _ => false,
    };
    let worth_waiting = pending
        && !matches!(verdict, Verdict::Breach(_))
        && policy::within_reach(spent, day, next_response_bound(spend, ctx, call.now), &limits);
    (verdict, worth_waiting)
}

fn limits(call: &Call, locked: &Locked) -> Limits {
    let b = &call.config.budget;
    Limits::from_usd(b.session_usd, b.daily_usd, b.warn_at, locked.allowances.extra_for(&call.session))
}

/// The most Claude Code asks one response to write (`max_tokens` of 2.1.331 on Opus and Sonnet).
const MAX_OUTPUT_TOKENS: u64 = 128_000;

/// What the response being written could cost at most: its prompt is at least the last one's (priced as fresh
/// cache writes, the dearest way to send it) and its output at most `MAX_OUTPUT_TOKENS`; never less than the
/// largest response of the session so far. A session with no response yet is priced as the unknown model. With a
/// budget correction, the bound is corrected too.
fn next_response_bound(spend: Option<&SessionSpend>, ctx: &sync::Context, now: DateTime<Utc>) -> Pico {
    let model = spend.map(|s| s.last_model.as_str()).filter(|m| !m.is_empty()).unwrap_or("unknown");
    let usage = Usage {
        cache_creation_5m_tokens: spend.map(|s| s.last_prompt_tokens).unwrap_or(0),
        output_tokens: MAX_OUTPUT_TOKENS,
        ..Usage::default()
    };
    let facts =
        ResponseFacts { model, usage: &usage, speed: Speed::Standard, inference_geo: None, date: now.date_naive() };
    let bound = ctx.budget_cost(model, ctx.prices.price(&facts).cost);
    bound.max(spend.map(|s| s.max_response).unwrap_or_default())
}

/// Turns the verdict into an action, recording warnings shown and blocks in the session's entry.
fn conclude(locked: &mut Locked, call: &Call, verdict: Verdict, corrected: bool) -> Action {
    let project = call.event.transcript_path.as_deref().map(discover::project_of_transcript).unwrap_or_default();
    let today = call.today();
    let entry = locked.ledger.sessions.entry(call.session.clone()).or_default();
    if entry.project.is_empty() {
        entry.project = project;
    }
    entry.hooked = true;
    let action = match verdict {
        Verdict::Allow => Action::Allow,
        Verdict::Breach(standing) => {
            entry.blocked_since.get_or_insert(call.now);
            Action::Block(breach_reason(&standing, call, corrected))
        }
        // A warning is marked as shown only where it can be shown (not on Stop, SubagentStop, ...).
        Verdict::Warn(_) if !call.kind.can_block() => Action::Allow,
        Verdict::Warn(standings) => {
            let fresh: Vec<Standing> = standings
                .into_iter()
                .filter(|s| match s.scope {
                    Scope::Session => !entry.warned_session,
                    Scope::Day => entry.warned_day != Some(today),
                })
                .collect();
            for s in &fresh {
                match s.scope {
                    Scope::Session => entry.warned_session = true,
                    Scope::Day => entry.warned_day = Some(today),
                }
            }
            if fresh.is_empty() { Action::Allow } else { Action::Warn(warning(&fresh)) }
        }
    };
    if matches!(action, Action::Allow) {
        entry.blocked_since = None;
    }
    action
}

fn save(locked: Locked) -> Result<(), Error> {
    Ok(locked.save()?)
}

fn micros(d: Duration) -> u64 {
    d.as_micros() as u64
}

/// With `corrected`, the spend named is the local estimate times the factors `ccbreaker reconcile` measured, and
/// the reason says so.
fn breach_reason(standing: &Standing, call: &Call, corrected: bool) -> String {
    let extra = call.config.budget.suggested_extra();
    let spent = if corrected {
        format!("{} (corrected by the billed/local factors of `ccbreaker reconcile`)", standing.spent)
    } else {
        standing.spent.to_string()
    };
    let lift = format!("ccbreaker allow --session {} --add-usd {}", call.session, format_usd_arg(extra));
    let config = call.config_path.display();
    match standing.scope {
        Scope::Session => format!(
            "ccbreaker: session budget reached: this session has spent {spent} of its {} budget. To go on, run \
             `{lift}` in a terminal, or raise budget.session_usd in {config}.",
            standing.limit,
        ),
        Scope::Day => format!(
            "ccbreaker: daily budget reached: {spent} spent today ({}, {}) across all sessions, of a {} daily budget. \
             It resets at midnight; to go on now, run `{lift}` in a terminal, or raise budget.daily_usd in {config}.",
            call.today(),
            call.config.budget.timezone.name(),
            standing.limit,
        ),
    }
}

fn format_usd_arg(usd: f64) -> String {
    if usd.fract() == 0.0 { format!("{usd:.0}") } else { format!("{usd}") }
}

fn warning(standings: &[Standing]) -> String {
    let parts: Vec<String> = standings
        .iter()
        .map(|s| {
            let percent = (s.spent.0 as u128 * 100 / s.limit.0.max(1) as u128) as u64;
            match s.scope {
                Scope::Session => format!("this session has spent {} of its {} budget ({percent}%)", s.spent, s.limit),
                Scope::Day => format!("{} spent today of the {} daily budget ({percent}%)", s.spent, s.limit),
            }
        })
        .collect();
    format!("ccbreaker: {}.", parts.join("; "))
}

/// Appends one line per hook call to `$CCBREAKER_LOG`, if set, whatever the outcome. Failures are ignored:
/// logging must never change the answer.
fn log(env: &Env, event: &Event, outcome: &Outcome, at: DateTime<Utc>, started: Instant) {
    let Some(path) = &env.log else { return };
    let answer = &outcome.answer;
    let line = serde_json::json!({
        "at": at.to_rfc3339(),
        "event": event.hook_event_name,
        "session": outcome.session,
        "agent_id": event.agent_id,
        "tool_use_id": event.tool_use_id,
        "exit": answer.code,
        "stdout": answer.stdout.trim_end(),
        "stderr": answer.stderr.trim_end(),
        "micros": started.elapsed().as_micros() as u64,
        "wait_micros": outcome.wait_us,
    });
    let _ = append_line(path, &line.to_string());
}

fn append_line(path: &Path, line: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    writeln!(file, "{line}")
}
