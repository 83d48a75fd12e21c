//! One hook call, start to finish: parse the event, load config and ledger, sync the transcripts, decide, save,
//! answer. Errors in ccbreaker's own files go through `policy.on_error`, in one place.

use super::event::{Event, EventKind};
use super::output::{Action, Answer, render};
use super::tamper;
use crate::audit;
use crate::config::{self, Config, OnBreach, OnError};
use crate::env::Env;
use crate::install::{self, Scope as SettingsScope};
use crate::ledger::state::{HookTimings, SessionSpend};
use crate::ledger::store::{Fresh, Locked, Store};
use crate::paths;
use crate::policy::{self, Limits, Scope, Standing, Verdict};
use crate::pricing::{PriceTable, ResponseFacts, Speed};
use crate::sync::{self, Scan};
use crate::transcript::discover;
use crate::usage::{Pico, Usage};
use chrono::{DateTime, Utc};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Default wait for the ledger lock in a hook: far below the hook timeout `ccbreaker install` sets (10 s).
pub const LOCK_TIMEOUT: Duration = Duration::from_millis(2000);

/// Runs the hook for one event.
pub fn run(stdin: &[u8], env: &Env, now: DateTime<Utc>) -> Answer {
    let started = Instant::now();
    let event = match Event::parse(stdin) {
        Ok(event) => event,
        Err(err) => {
            let answer = Answer::error(&err.to_string());
            log(env, &Event::default(), None, &answer, now, started, 0);
            return answer;
        }
    };
    let kind = event.kind();
    let config_path = paths::config_file(env);
    let loaded = match config::load(&config_path) {
        Ok(loaded) => loaded,
        Err(err) => {
            let (on_error, source) = match env.on_error.as_deref().and_then(OnError::parse) {
                Some(on_error) => (on_error, "CCBREAKER_ON_ERROR"),
                None => (OnError::Allow, "the default on_error, as the config cannot be read"),
            };
            let answer = own_fault(kind, &err.to_string(), on_error, OnBreach::Stop, source);
            log(env, &event, None, &answer, now, started, 0);
            return answer;
        }
    };
    let config = &loaded.config;
    let Some(session) = session_of(&event) else {
        if kind.can_block() {
            return Answer::error("hook input has neither `transcript_path` nor `session_id`");
        }
        return Answer::silent();
    };
    let state_dir = paths::state_dir(env);
    if let Some(reason) = tampering(&event, env, &config_path, &state_dir) {
        audit(&state_dir, &event, &session, audit::Kind::Tamper, &reason, now);
        // A refusal, not a breach: the session goes on without this call.
        let mode = if config.policy.on_breach == OnBreach::ExitCode { OnBreach::ExitCode } else { OnBreach::Deny };
        let answer = render(kind, &Action::Block(reason), mode);
        log(env, &event, Some(&session), &answer, now, started, 0);
        return answer;
    }
    let parsed_at = started.elapsed();
    let (answer, wait_us) = match decide(&event, &session, config, &config_path, env, now, started, parsed_at) {
        Ok((action, wait_us)) => {
            if let (Action::Block(reason), true) = (&action, kind.can_block()) {
                audit(&state_dir, &event, &session, audit::Kind::Breach, reason, now);
            }
            (render(kind, &action, config.policy.on_breach), wait_us)
        }
        Err(message) => {
            if config.policy.on_error == OnError::Block && kind.can_block() {
                audit(&state_dir, &event, &session, audit::Kind::Error, &message, now);
            }
            (own_fault(kind, &message, config.policy.on_error, config.policy.on_breach, "policy.on_error"), 0)
        }
    };
    log(env, &event, Some(&session), &answer, now, started, wait_us);
    answer
}

/// The tamper check of a `PreToolUse` (see [`tamper`]): what ccbreaker owns and the settings files that hold its
/// hooks, for this event's working directory.
fn tampering(event: &Event, env: &Env, config_path: &Path, state_dir: &Path) -> Option<String> {
    let input = event.tool_input.as_ref().filter(|_| event.kind() == EventKind::PreToolUse)?;
    let cwd = event.cwd.as_deref().map(PathBuf::from).or_else(|| std::env::current_dir().ok()).unwrap_or_default();
    let mut settings = Vec::new();
    for scope in [SettingsScope::User, SettingsScope::Project, SettingsScope::Local] {
        settings.extend(install::settings_path(scope, env, &cwd).ok());
    }
    for dir in env.claude_config_dirs().into_iter().chain(env.home.as_ref().map(|h| h.join(".claude"))) {
        settings.extend([dir.join("settings.json"), dir.join("settings.local.json")]);
    }
    let binary = std::env::current_exe().ok();
    let protected = tamper::Protected::new(config_path, state_dir, binary, settings, env.home.clone());
    tamper::check(event, input, &protected)
}

fn audit(state_dir: &Path, event: &Event, session: &str, kind: audit::Kind, detail: &str, now: DateTime<Utc>) {
    let entry = audit::Entry {
        at: now,
        kind,
        session: Some(session.to_owned()),
        agent_id: event.agent_id.clone(),
        event: event.hook_event_name.clone(),
        tool: event.tool_name.clone(),
        detail: detail.to_owned(),
    };
    if Store::open(state_dir).is_ok() {
        let _ = audit::append(state_dir, &entry);
    }
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

/// A fault of ccbreaker's own (config, state): allow with a visible warning, or block, as configured.
fn own_fault(kind: EventKind, message: &str, on_error: OnError, on_breach: OnBreach, source: &str) -> Answer {
    let action = match on_error {
        OnError::Allow => Action::Warn(format!(
            "ccbreaker could not check your budgets, so this call is allowed ({source} = \"allow\"): {message}"
        )),
        OnError::Block => Action::Block(format!(
            "ccbreaker could not check your budgets, so this call is blocked ({source} = \"block\"): {message}"
        )),
    };
    let mut answer = render(kind, &action, on_breach);
    if answer.stderr.is_empty() {
        answer.stderr = format!("ccbreaker: {message}\n");
    }
    answer
}

/// A transcript the hook may open: under a transcript root (as spelled, or once resolved), without `..`, unless
/// the config allows any path.
fn readable_transcript(path: &Path, config: &Config, env: &Env, ctx: &sync::Context) -> bool {
    if config.transcripts.allow_any_path {
        return true;
    }
    if path.components().any(|c| c == std::path::Component::ParentDir) {
        return false;
    }
    let as_given = paths::transcript_roots_as_given(env, &config.transcripts.extra_roots);
    as_given.iter().any(|root| path.starts_with(root))
        || ctx.roots.get().iter().any(|root| paths::is_within(path, root))
}

/// How often a waiting hook looks at the transcript again.
const POLL: Duration = Duration::from_millis(10);

#[allow(clippy::too_many_arguments)]
fn decide(
    event: &Event,
    session: &str,
    config: &Config,
    config_path: &Path,
    env: &Env,
    now: DateTime<Utc>,
    started: Instant,
    parsed_at: Duration,
) -> Result<(Action, u64), String> {
    let prices = config.pricing.table(config_path).map_err(|e| e.to_string())?;
    let zone = config.budget.timezone;
    let store = Store::open(&paths::state_dir(env)).map_err(|e| e.to_string())?;
    let timeout = lock_timeout(env)?;
    let roots = sync::Roots::new(env, &config.transcripts.extra_roots);
    let ctx = sync::Context { roots, zone, prices: &prices, now, rescan_secs: config.transcripts.rescan_secs };
    let transcript = event.transcript_path.as_deref().filter(|path| readable_transcript(path, config, env, &ctx));
    if let (None, Some(path)) = (transcript, &event.transcript_path) {
        // Not opened: the budget is checked on what the ledger already has.
        let note = format!(
            "did not read `{}`: it is outside every transcript root (set transcripts.allow_any_path to read it)",
            path.display()
        );
        let mut locked = store.lock(timeout, &zone.name()).map_err(|e| e.to_string())?;
        locked.ledger.note(note);
        save(locked)?;
    }
    let today = zone.date_of(now);
    let wait_until = started + Duration::from_millis(config.policy.wait_ms);
    let mut timings = HookTimings { parse_us: micros(parsed_at), ..HookTimings::default() };
    let mut wait_started: Option<Instant> = None;
    loop {
        let before_lock = started.elapsed();
        let mut locked = store.lock(timeout, &zone.name()).map_err(|e| e.to_string())?;
        let locked_at = started.elapsed();
        timings.lock_us += micros(locked_at - before_lock);
        // Marked before reading, so the tool-call ids of this read are remembered for the session.
        locked.ledger.sessions.entry(session.to_owned()).or_default().hooked = true;
        let synced = sync::sync(&mut locked, transcript, Scan::IfDue, &ctx).map_err(|e| e.to_string())?;
        let synced_at = started.elapsed();
        timings.tail_us += micros(synced_at - locked_at);
        timings.files_read += synced.stats.files;
        timings.bytes_read += synced.stats.bytes;
        timings.scanned |= synced.scanned;

        let extra = locked.allowances.extra_for(session);
        let limits = Limits::from_usd(config.budget.session_usd, config.budget.daily_usd, config.budget.warn_at, extra);
        let spend = locked.ledger.sessions.get(session);
        let spent = spend.map(|s| s.total.cost).unwrap_or_default();
        let day = locked.ledger.day(today).cost;
        let verdict = policy::assess(spent, day, &limits);
        let pending = match (event.kind(), event.tool_use_id.as_deref()) {
            (EventKind::PreToolUse, Some(id)) => !spend.is_some_and(|s| s.saw_tool_use(id)),
            _ => false,
        };
        let next = next_response_bound(spend, &prices, now);
        let worth_waiting = pending
            && !matches!(verdict, Verdict::Breach(_))
            && policy::within_reach(spent, day, next, &limits)
            && Instant::now() + POLL <= wait_until;
        if worth_waiting {
            // The response that issued this call is still being written: let go of the lock, look again soon.
            save(locked)?;
            wait_started.get_or_insert_with(Instant::now);
            std::thread::sleep(POLL);
            continue;
        }
        let action = conclude(&mut locked, event, session, config, config_path, verdict, today, now);
        timings.decide_us = micros(started.elapsed() - synced_at);
        timings.wait_us = wait_started.map_or(0, |at| micros(at.elapsed()));
        timings.total_us = micros(started.elapsed());
        timings.at = Some(now);
        timings.event = event.hook_event_name.clone().unwrap_or_default();
        timings.session = session.to_owned();
        let wait_us = timings.wait_us;
        locked.ledger.last_hook = Some(timings);
        save(locked)?;
        return Ok((action, wait_us));
    }
}

/// The most Claude Code asks one response to write (`max_tokens` of 2.1.331 on Opus and Sonnet).
const MAX_OUTPUT_TOKENS: u64 = 128_000;

/// What the response being written could cost at most: its prompt is at least the last one's (priced as fresh
/// cache writes, the dearest way to send it) and its output at most `MAX_OUTPUT_TOKENS`; never less than the
/// largest response of the session so far. A session with no response yet is priced as the unknown model.
fn next_response_bound(spend: Option<&SessionSpend>, prices: &PriceTable, now: DateTime<Utc>) -> Pico {
    let model = spend.map(|s| s.last_model.as_str()).filter(|m| !m.is_empty()).unwrap_or("unknown");
    let usage = Usage {
        cache_creation_5m_tokens: spend.map(|s| s.last_prompt_tokens).unwrap_or(0),
        output_tokens: MAX_OUTPUT_TOKENS,
        ..Usage::default()
    };
    let facts =
        ResponseFacts { model, usage: &usage, speed: Speed::Standard, inference_geo: None, date: now.date_naive() };
    let bound = prices.price(&facts).cost;
    bound.max(spend.map(|s| s.max_response).unwrap_or_default())
}

/// Turns the verdict into an action, recording warnings shown and blocks in the session's entry.
#[allow(clippy::too_many_arguments)]
fn conclude(
    locked: &mut Locked,
    event: &Event,
    session: &str,
    config: &Config,
    config_path: &Path,
    verdict: Verdict,
    today: chrono::NaiveDate,
    now: DateTime<Utc>,
) -> Action {
    let project = event.transcript_path.as_deref().map(discover::project_of_transcript).unwrap_or_default();
    let entry = locked.ledger.sessions.entry(session.to_owned()).or_default();
    if entry.project.is_empty() {
        entry.project = project;
    }
    entry.hooked = true;
    let zone = config.budget.timezone.name();
    let action = match verdict {
        Verdict::Allow => Action::Allow,
        Verdict::Breach(standing) => {
            entry.blocked_since.get_or_insert(now);
            Action::Block(breach_reason(&standing, session, suggested_extra(config), config_path, &zone, today))
        }
        // A warning is marked as shown only where it can be shown (not on Stop, SubagentStop, ...).
        Verdict::Warn(_) if !event.kind().can_block() => Action::Allow,
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

fn save(mut locked: Locked) -> Result<(), String> {
    if let Fresh::Rebuilt(why) = &locked.fresh {
        let note = format!("ledger rebuilt from the transcripts: {why}");
        locked.ledger.note(note);
    }
    locked.save().map_err(|e| e.to_string())
}

fn micros(d: Duration) -> u64 {
    d.as_micros() as u64
}

pub fn lock_timeout(env: &Env) -> Result<Duration, String> {
    match env.lock_timeout_ms.as_deref() {
        None => Ok(LOCK_TIMEOUT),
        Some(value) => value
            .trim()
            .parse::<u64>()
            .map(Duration::from_millis)
            .map_err(|_| format!("CCBREAKER_LOCK_TIMEOUT_MS must be a whole number of milliseconds, got {value:?}")),
    }
}

/// What `ccbreaker allow` adds by default and what the block message suggests: one more session budget.
pub fn suggested_extra(config: &Config) -> f64 {
    match (config.budget.session_usd, config.budget.daily_usd) {
        (s, _) if s > 0.0 => s,
        (_, d) if d > 0.0 => d,
        _ => 10.0,
    }
}

fn breach_reason(
    standing: &Standing,
    session: &str,
    extra: f64,
    config_path: &Path,
    zone: &str,
    today: chrono::NaiveDate,
) -> String {
    let lift = format!("ccbreaker allow --session {session} --add-usd {}", format_usd_arg(extra));
    match standing.scope {
        Scope::Session => format!(
            "ccbreaker: session budget reached: this session has spent {} of its {} budget. To go on, run `{lift}` \
             in a terminal, or raise budget.session_usd in {}.",
            standing.spent,
            standing.limit,
            config_path.display()
        ),
        Scope::Day => format!(
            "ccbreaker: daily budget reached: {} spent today ({today}, {zone}) across all sessions, of a {} daily \
             budget. It resets at midnight; to go on now, run `{lift}` in a terminal, or raise budget.daily_usd in {}.",
            standing.spent,
            standing.limit,
            config_path.display()
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
fn log(
    env: &Env,
    event: &Event,
    session: Option<&str>,
    answer: &Answer,
    now: DateTime<Utc>,
    started: Instant,
    wait_us: u64,
) {
    let Some(path) = &env.log else { return };
    let line = serde_json::json!({
        "at": now.to_rfc3339(),
        "event": event.hook_event_name,
        "session": session,
        "agent_id": event.agent_id,
        "tool_use_id": event.tool_use_id,
        "exit": answer.code,
        "stdout": answer.stdout.trim_end(),
        "stderr": answer.stderr.trim_end(),
        "micros": started.elapsed().as_micros() as u64,
        "wait_micros": wait_us,
    });
    let _ = append_line(path, &line.to_string());
}

fn append_line(path: &PathBuf, line: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    writeln!(file, "{line}")
}
