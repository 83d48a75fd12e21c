//! The breakers a hook call checks beyond the budgets' standings: a session a breaker stopped stays stopped until a
//! person allows it, and the loop breaker, which remembers each thread's latest tool calls in the ledger and asks
//! the audit's loop detector ([`crate::findings::loops`]) whether this call repeats them.

use super::event::{EventKind, ModAsk};
use super::run::Call;
use crate::findings::loops::{self, Kind, Seen};
use crate::ledger::state::{CallSeen, RECENT_CALLS, RECENT_SPAWNS, Spawn, Tripped};
use crate::ledger::store::Locked;
use crate::policy::{Scope, Standing};
use crate::transcript::line::hash;
use crate::usage::Pico;

/// What a breaker makes of this call.
pub(super) enum Trip {
    /// Refuse this call only (the session goes on): why, and the standing for the alert.
    Deny(String, Standing),
    /// Stop the session: why, and the standing for the alert (none for a session stopped earlier).
    Stop(String, Option<Standing>),
}

/// The calls of one loop ping-pong needs (three rounds of two).
const PING_PONG: u64 = loops::PING_PONG as u64;

/// Why the session was stopped by a breaker earlier, if it was (cleared by `ccbreaker allow`).
pub(super) fn tripped(locked: &Locked, call: &Call) -> Option<String> {
    locked.ledger.sessions.get(&call.session).and_then(|s| s.tripped.as_ref()).map(|t| t.reason.clone())
}

/// Records a stop so that every later call of the session is refused with the same reason.
pub(super) fn trip(locked: &mut Locked, call: &Call, reason: &str) {
    let entry = locked.ledger.sessions.entry(call.session.clone()).or_default();
    entry.tripped.get_or_insert_with(|| Tripped { at: call.now, reason: reason.to_owned() });
}

/// The loop breaker, at a `PreToolUse`: remembers the call, then denies it when it is the `repeats`-th identical call
/// of its thread within the window (or a third round of a ping-pong), and stops the session at twice that.
pub(super) fn check_loop(locked: &mut Locked, call: &Call) -> Option<Trip> {
    let breaker = call.config.breaker.loops?;
    if call.kind != EventKind::PreToolUse {
        return None;
    }
    let name = call.event.tool_name.as_deref()?;
    let raw = call.event.tool_input.as_deref().unwrap_or(b"null");
    let (key, _) = crate::findings::facts::call_key(name, raw);
    let agent = call.event.agent_id.as_deref().map_or(0, |a| hash(a.as_bytes()));
    let seen = CallSeen {
        agent,
        key,
        at_ms: call.now.timestamp_millis(),
        writes: matches!(name, "Write" | "Edit" | "MultiEdit" | "NotebookEdit"),
    };
    let entry = locked.ledger.sessions.entry(call.session.clone()).or_default();
    entry.calls.push(seen);
    let excess = entry.calls.len().saturating_sub(RECENT_CALLS);
    entry.calls.drain(..excess);
    let thread: Vec<Seen> = entry
        .calls
        .iter()
        .filter(|c| c.agent == agent)
        .map(|c| Seen { key: c.key, at_ms: c.at_ms, writes: c.writes })
        .collect();
    let last = thread.len().checked_sub(1)?;
    let window_ms = breaker.window_minutes as i64 * 60_000;
    let found = loops::detect_with(&thread, breaker.repeats as usize, window_ms);
    let this = found.iter().find(|l| l.calls.last() == Some(&last))?;
    let count = this.calls.len() as u64;
    let first = thread[this.calls[0]].at_ms;
    let minutes = ((seen.at_ms - first) as f64 / 60_000.0).ceil().max(1.0) as u64;
    let threshold = if this.kind == Kind::PingPong { PING_PONG } else { breaker.repeats };
    let stop_at = threshold * 2;
    let what = match this.kind {
        Kind::Repeat => format!(
            "this {name} call, with the same input, is the {} identical call in {minutes} minute(s) with no \
             file written in between",
            ordinal(count)
        ),
        Kind::PingPong => format!(
            "this {name} call is the {} of two calls alternating back and forth in {minutes} minute(s) with \
             nothing else in between",
            ordinal(count)
        ),
    };
    let standing =
        Standing { scope: Scope::Loop, spent: Pico(count), limit: Pico(stop_at), warn_per_mille: None, period: 0 };
    let config = call.config_shown();
    if count >= stop_at {
        let reason = format!(
            "ccbreaker: loop breaker: {what}, so the session is stopped ({stop_at} such calls; breaker.loop.repeats \
             is {}). To go on, run `{} allow --session {} --add-usd 0` in a terminal, or raise breaker.loop.repeats \
             in {config}.",
            breaker.repeats,
            call.place.human_command(),
            call.session,
        );
        return Some(Trip::Stop(reason, Some(standing)));
    }
    let reason = format!(
        "ccbreaker: loop breaker: {what}, so it is refused. Repeating it will not give another result: read the last \
         result or error, change the input or the approach, or ask the user. At {stop_at} such calls ccbreaker stops \
         the session."
    );
    Some(Trip::Deny(reason, standing))
}

/// `1st`, `2nd`, `3rd`, `4th`, ..., `11th`, `21st`.
fn ordinal(n: u64) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

/// How long a subagent the caps let start counts as running without an event of its own: one that was never
/// started (another hook refused the call) must not hold a place for ever.
const UNCLAIMED_MINUTES: i64 = 10;

/// Keeps the subagent caps' record up to date with this event: an event of a subagent not seen before claims the
/// oldest subagent started and not yet claimed (and takes its depth); `SubagentStop` ends it; the main
/// conversation's `Stop` ends them all (its turn waited for them).
pub(super) fn track_agents(locked: &mut Locked, call: &Call) {
    if call.config.breaker.subagents.is_none() {
        return;
    }
    let Some(entry) = locked.ledger.sessions.get_mut(&call.session) else { return };
    let agent = call.event.agent_id.as_deref().filter(|a| !a.is_empty());
    let stale = call.now - chrono::Duration::minutes(UNCLAIMED_MINUTES);
    for spawn in entry.spawns.iter_mut().filter(|s| s.agent.is_empty() && s.at < stale) {
        spawn.done = true;
    }
    match (call.kind, agent) {
        (EventKind::Stop, None) => entry.spawns.iter_mut().for_each(|s| s.done = true),
        // For the mod's spawn, the agent named is the one spawning.
        (EventKind::Mod(ModAsk::Spawn), _) | (_, None) => {}
        (kind, Some(agent)) => {
            if !entry.spawns.iter().any(|s| s.agent == agent)
                && let Some(spawn) = entry.spawns.iter_mut().find(|s| s.agent.is_empty() && !s.done)
            {
                spawn.agent = agent.to_owned();
            }
            if kind == EventKind::SubagentStop {
                entry.spawns.iter_mut().filter(|s| s.agent == agent).for_each(|s| s.done = true);
            }
        }
    }
}

/// The subagent caps, at an `Agent` or `Task` tool call and at the mod's `agent.spawn`: a spawn past a cap is
/// refused (the session goes on). A spawn let through is counted where it starts: at the mod's `agent.spawn` when the
/// session has the mod, else at the tool call; both run under the ledger's lock, so the caps hold exactly whatever
/// runs at once.
pub(super) fn check_spawn(locked: &mut Locked, call: &Call) -> Option<Trip> {
    let caps = call.config.breaker.subagents?;
    let tool = call.event.tool_name.as_deref().unwrap_or("");
    let is_spawn = match call.kind {
        EventKind::PreToolUse => matches!(tool, "Agent" | "Task"),
        EventKind::Mod(ModAsk::Spawn) => true,
        _ => false,
    };
    if !is_spawn {
        return None;
    }
    let files = started_in_transcripts(locked, &call.session);
    let entry = locked.ledger.sessions.entry(call.session.clone()).or_default();
    let counts_here = call.kind == EventKind::Mod(ModAsk::Spawn) || entry.mod_seen.is_none();
    let parent = call.event.agent_id.as_deref().filter(|a| !a.is_empty());
    let depth = match parent {
        None => 1,
        Some(agent) => entry.spawns.iter().find(|s| s.agent == agent).map_or(1, |s| s.depth) + 1,
    };
    let active = entry.spawns.iter().filter(|s| !s.done).count() as u64;
    let started = entry.spawned.max(files);
    let what = if tool.is_empty() { "this subagent".to_owned() } else { format!("this {tool} call") };
    let refuse = |why: String, spent: u64, limit: u64| {
        let standing = Standing {
            scope: Scope::Subagents,
            spent: Pico(spent),
            limit: Pico(limit),
            warn_per_mille: None,
            period: 0,
        };
        Some(Trip::Deny(
            format!(
                "ccbreaker: subagent cap: {why}, so {what} is refused. Do the work in this conversation, or wait for a \
                 running subagent to finish."
            ),
            standing,
        ))
    };
    if depth > caps.max_depth {
        return refuse(
            format!("it would start a subagent at depth {depth} (breaker.subagents.max_depth is {})", caps.max_depth),
            depth,
            caps.max_depth,
        );
    }
    if active >= caps.max_active {
        return refuse(
            format!("{active} subagents are running (breaker.subagents.max_active is {})", caps.max_active),
            active,
            caps.max_active,
        );
    }
    if started >= caps.max_per_session {
        return refuse(
            format!(
                "this session has started {started} subagents (breaker.subagents.max_per_session is {})",
                caps.max_per_session
            ),
            started,
            caps.max_per_session,
        );
    }
    if counts_here {
        entry.spawns.push(Spawn { agent: String::new(), depth, at: call.now, done: false });
        let ended = entry.spawns.iter().filter(|s| s.done).count();
        let excess = entry.spawns.len().saturating_sub(RECENT_SPAWNS).min(ended);
        let mut dropped = 0;
        entry.spawns.retain(|s| {
            let drop = s.done && dropped < excess;
            dropped += usize::from(drop);
            !drop
        });
        entry.spawned += 1;
    }
    None
}

/// How many subagents the session's transcripts show it started (its files under `subagents/`), for a session whose
/// hooks did not see every spawn.
fn started_in_transcripts(locked: &Locked, session: &str) -> u64 {
    let marker = format!("{}subagents{}", std::path::MAIN_SEPARATOR, std::path::MAIN_SEPARATOR);
    locked.ledger.files.iter().filter(|(path, c)| c.session == session && path.contains(&marker)).count() as u64
}

/// The API-error breaker: `count` refused requests (the client's synthetic error lines in the session's transcripts)
/// within the last `minutes` stop the session, with the kinds of error in the reason.
pub(super) fn check_api_errors(locked: &Locked, call: &Call) -> Option<Trip> {
    let breaker = call.config.breaker.api_errors?;
    let entry = locked.ledger.sessions.get(&call.session)?;
    let since = call.now.timestamp_millis() - breaker.minutes as i64 * 60_000;
    let recent: Vec<&str> = entry.api_errors.iter().filter(|e| e.at_ms > since).map(|e| e.kind.as_str()).collect();
    let count = recent.len() as u64;
    if count < breaker.count {
        return None;
    }
    let mut kinds: Vec<(&str, usize)> = Vec::new();
    for kind in recent {
        match kinds.iter_mut().find(|(k, _)| *k == kind) {
            Some((_, n)) => *n += 1,
            None => kinds.push((kind, 1)),
        }
    }
    kinds.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} x{n}")).collect();
    let config = call.config_shown();
    let reason = format!(
        "ccbreaker: API error breaker: the API refused {count} requests of this session in the last {} minutes ({}), \
         so the session is stopped rather than left retrying. To go on, run `{} allow --session {} --add-usd 0` in a \
         terminal once the API answers again, or raise breaker.api_errors.count in {config}.",
        breaker.minutes,
        kinds.join(", "),
        call.place.human_command(),
        call.session,
    );
    let standing = Standing {
        scope: Scope::ApiErrors,
        spent: Pico(count),
        limit: Pico(breaker.count),
        warn_per_mille: None,
        period: 0,
    };
    Some(Trip::Stop(reason, Some(standing)))
}

/// `policy.downgrade_at`: past that fraction of any dollar budget, an `Agent` or `Task` call starts its subagent on
/// `downgrade_model` (its input with `model` rewritten), as does the mod's spawn (`{"model": M}` in its answer), and
/// the session is told the first time. `None`: the call stands as it is.
pub(super) fn downgrade(locked: &mut Locked, call: &Call) -> Option<Downgrade> {
    let policy = &call.config.policy;
    let model = policy.downgrade_model.as_deref().filter(|_| policy.downgrade_at > 0.0)?;
    let mut input: serde_json::Value = match (call.kind, call.event.tool_name.as_deref()) {
        (EventKind::PreToolUse, Some("Agent" | "Task")) => {
            serde_json::from_slice(call.event.tool_input.as_deref()?).ok()?
        }
        // The model the Agent tool named (none: the subagent would inherit its parent's).
        (EventKind::Mod(ModAsk::Spawn), _) => serde_json::json!({ "model": call.gate?.model }),
        _ => return None,
    };
    if input.get("model").and_then(|m| m.as_str()) == Some(model) || !input.is_object() {
        return None;
    }
    let at = (policy.downgrade_at * 1000.0).round() as u64;
    let nearest = call
        .judge(locked)
        .standings(crate::verdict::Ask::Hook)
        .into_iter()
        .filter(|s| !s.scope.counts() && s.per_mille() >= at)
        .max_by_key(|s| s.per_mille())?;
    input["model"] = serde_json::Value::String(model.to_owned());
    let entry = locked.ledger.sessions.entry(call.session.clone()).or_default();
    let told = std::mem::replace(&mut entry.downgrade_told, true);
    let words = crate::standings::words(&nearest, &call.config);
    let message = (!told).then(|| {
        format!(
            "ccbreaker: {}% of the {} is spent ({} of {}): new subagents start on {model} (policy.downgrade_at).",
            nearest.per_mille() / 10,
            words.name,
            nearest.spent,
            nearest.limit
        )
    });
    Some(Downgrade { input, message })
}

/// A subagent started on the cheaper model: the tool's input as rewritten, and what the session is told (once).
pub(super) struct Downgrade {
    pub(super) input: serde_json::Value,
    pub(super) message: Option<String>,
}
