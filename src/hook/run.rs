//! One hook call, start to finish: parse the event, load the config, check for tampering, then bring the ledger
//! up to date, wait for the response that issued the call when that could matter, decide, save and answer. The
//! call is one value ([`Call`]) that each step reads; errors in ccbreaker's own files go through
//! `policy.on_error` in one place ([`own_fault`]); and every answer, whatever the path to it, is logged once.

use super::breakers::{self, Trip};
use super::event::{Event, EventKind, ModAsk, ToolInput};
use super::gate;
use super::output::{Action, Answer, render};
use super::tamper;
use crate::alert::Alert;
use crate::audit;
use crate::config::{Config, OnBreach, OnError};
use crate::env::Env;
use crate::error::Error;
use crate::install;
use crate::ledger::LedgerError;
use crate::ledger::state::{Halted, HookTimings, Tampered};
use crate::ledger::store::{Locked, Store};
use crate::locked::Mode;
use crate::place::{Effective, NoConfig, Place};
use crate::policy::{Scope, Standing, Verdict};
use crate::pricing::PriceTable;
use crate::sync::{self, Scan};
use crate::transcript::discover;
use crate::transcript::tail::Budget;
use crate::usage::Pico;
use crate::verdict::{self, Ask, Judge};
use chrono::{DateTime, NaiveDate, Utc};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Everything one hook call knows, built once: the event, whose session it is, the config and where it came
/// from, where the state lives, and the clock.
pub(crate) struct Call<'a> {
    /// The environment that applies (locked mode: without the `CCBREAKER_*` overrides).
    pub(crate) env: &'a Env,
    pub(crate) place: &'a Place,
    pub(crate) event: &'a Event,
    pub(crate) kind: EventKind,
    pub(crate) session: String,
    pub(crate) config: Config,
    pub(crate) config_path: PathBuf,
    pub(crate) state_dir: PathBuf,
    /// The config as read: kept as the last good copy when it changes; a notice when the last good one is in force.
    pub(crate) effective: &'a Effective,
    pub(crate) now: DateTime<Utc>,
    pub(crate) started: Instant,
    /// When the event was parsed and the config loaded.
    pub(crate) parsed_at: Duration,
    /// What ccbreaker's mod asked (`ccbreaker gate`); `None` for a command hook's event.
    pub(crate) gate: Option<&'a gate::Request>,
}

/// How a call ended: the answer, what the log line records beside it, and what follows it (see [`super::follow`]).
pub(super) struct Outcome {
    pub(super) answer: Answer,
    pub(super) session: Option<String>,
    wait_us: u64,
    /// The call stopped its session: why (for `ccbreaker exec`).
    pub(super) halt: Option<String>,
    /// An alert this call raises, and the `[alerts]` and day it goes out under.
    pub(super) alert: Option<crate::alert::Alert>,
    pub(super) alerts: Option<(crate::config::Alerts, NaiveDate)>,
}

impl Outcome {
    fn of(answer: Answer, session: Option<&str>) -> Outcome {
        Outcome { answer, session: session.map(str::to_owned), wait_us: 0, halt: None, alert: None, alerts: None }
    }

    /// Marks a block of an event that can be blocked as a halt of its session.
    fn halting(mut self, kind: EventKind, reason: &str) -> Outcome {
        if kind.can_block() {
            self.halt = Some(reason.to_owned());
        }
        self
    }
}

/// Runs the hook for one event. `now` is the clock (`CCBREAKER_NOW` or the system's), or why it could not be read.
pub(crate) fn run(stdin: &[u8], env: &Env, now: Result<DateTime<Utc>, Error>) -> Answer {
    let parsed = Event::parse(stdin).map(|event| (event, None)).map_err(|err| crate::error::report(&err));
    serve(parsed, env, now)
}

/// Answers one event, a hook's or the mod's (with its request, see [`gate`]), or says why it could not be read.
pub(crate) fn serve(
    parsed: Result<(Event, Option<gate::Request>), String>,
    env: &Env,
    now: Result<DateTime<Utc>, Error>,
) -> Answer {
    let started = Instant::now();
    let logged_at = now.as_ref().map_or_else(|_| Utc::now(), |now| *now);
    let place = Place::resolve(env);
    let (event, outcome) = match parsed {
        Ok((event, request)) => {
            let outcome = match &place {
                Ok(place) => respond(&event, request.as_ref(), place, now, started),
                Err(err) => {
                    let answer = unusable_install(event.kind(), err);
                    let reason = answer.reason();
                    Outcome::of(answer, session_of(&event).as_deref()).halting(event.kind(), &reason)
                }
            };
            (event, outcome)
        }
        Err(message) => (Event::default(), Outcome::of(Answer::error(&message), None)),
    };
    // Locked mode writes no log where the agent could point it.
    if place.as_ref().is_ok_and(|p| !p.is_locked()) {
        log(env, &event, &outcome, logged_at, started);
    }
    if let Ok(place) = &place {
        super::follow::up(place, &event, &outcome, logged_at);
    }
    outcome.answer
}

/// Locked mode's record of its install cannot be read: nothing can be checked, and only root can fix it.
fn unusable_install(kind: EventKind, err: &crate::locked::LockedError) -> Answer {
    let reason =
        format!("ccbreaker could not check your budgets, so this call is blocked: {}", crate::error::report(err));
    render(kind, &Action::Block(reason), OnBreach::Stop)
}

/// Everything after parsing: config, session, tamper check, decision.
fn respond(
    event: &Event,
    request: Option<&gate::Request>,
    place: &Place,
    now: Result<DateTime<Utc>, Error>,
    started: Instant,
) -> Outcome {
    let kind = event.kind();
    if let Mode::Locked(install) = &place.mode
        && !install.is_this_binary()
    {
        // A hook (or mod) of a user-mode install, in locked mode: the managed one, which runs the locked binary,
        // guards this call; this one could not reach the state anyway.
        return Outcome::of(render(kind, &Action::Allow, OnBreach::Stop), None);
    }
    let effective = match place.config() {
        Ok(effective) => effective,
        Err(NoConfig { error }) => {
            let (on_error, source) = match place.env.on_error.as_deref().and_then(OnError::parse) {
                Some(on_error) if !place.is_locked() => (on_error, OnErrorSource::Env),
                _ => (OnError::Block, OnErrorSource::Unreadable),
            };
            let answer = own_fault(kind, &Error::from(error), on_error, OnBreach::Stop, source);
            let outcome = Outcome::of(answer, session_of(event).as_deref());
            return match on_error {
                OnError::Block => {
                    let reason = outcome.answer.reason();
                    outcome.halting(kind, &reason)
                }
                OnError::Allow => outcome,
            };
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
    // Locked mode keeps its own clock: `CCBREAKER_NOW` is an override like any other.
    let now = if place.is_locked() { Ok(Utc::now()) } else { now };
    let now = match now {
        Ok(now) => now,
        Err(err) => {
            let policy = &effective.config.policy;
            let answer = own_fault(kind, &err, policy.on_error, policy.on_breach, OnErrorSource::Config);
            return Outcome::of(answer, Some(&session));
        }
    };
    let call = Call {
        env: &place.env,
        place,
        event,
        kind,
        session,
        state_dir: place.state_dir.clone(),
        config: effective.config.clone(),
        config_path: place.config_path.clone(),
        effective: &effective,
        now,
        started,
        parsed_at: started.elapsed(),
        gate: request,
    };
    let mut outcome = answer(&call);
    if !call.config.alerts.channels.is_empty() {
        outcome.alerts = Some((call.config.alerts.clone(), call.today()));
    }
    outcome
}

/// The answer to a call whose config and session are known, with the halt and alert it makes.
fn answer(call: &Call) -> Outcome {
    let kind = call.kind;
    if let Some(reason) = tampering(call) {
        call.audit(audit::Kind::Refuse, &reason);
        // A refusal, not a breach: the session goes on without this call.
        let on_breach = call.config.policy.on_breach;
        let mode = if on_breach == OnBreach::ExitCode { OnBreach::ExitCode } else { OnBreach::Deny };
        let mut outcome = Outcome::of(render(kind, &Action::Block(reason.clone()), mode), Some(&call.session));
        outcome.alert = Some(super::follow::tamper_alert(call, &reason));
        return outcome;
    }
    let policy = &call.config.policy;
    match decide(call) {
        Ok(mut decision) => {
            let mut alert = None;
            let mut halt = None;
            match (&decision.action, kind.can_block()) {
                (Action::Block(reason), true) if decision.deny_only => {
                    call.audit(audit::Kind::Block, reason);
                    alert = Some(super::follow::warn_alert(call, reason, decision.breach));
                }
                (Action::Block(reason), true) => {
                    let what = if decision.tampered { audit::Kind::Refuse } else { audit::Kind::Block };
                    call.audit(what, reason);
                    alert = match decision.team_alert.take().filter(|_| decision.team_block) {
                        Some(team) => Some(team),
                        None => Some(super::follow::block_alert(call, reason, decision.breach, decision.tampered)),
                    };
                    halt = Some(reason.clone());
                }
                (Action::Warn(message), _) => alert = Some(super::follow::warn_alert(call, message, decision.breach)),
                _ => {}
            }
            let alert = alert.or(decision.team_alert.take());
            let action = with_notice(decision.action, call.effective.notice.as_deref());
            let on_breach = match policy.on_breach {
                OnBreach::Stop if decision.deny_only => OnBreach::Deny,
                other => other,
            };
            let mut answer = render(kind, &action, on_breach);
            if let Some(downgrade) = decision.downgrade {
                answer = downgraded(kind, &action, downgrade);
            }
            Outcome {
                answer,
                session: Some(call.session.clone()),
                wait_us: decision.wait_us,
                halt,
                alert,
                alerts: None,
            }
        }
        Err(err) if seized(&err) => {
            // Something the agent can do (hold the lock, `chmod 000` the state, put a directory where a file was)
            // is not a fault of ccbreaker's: the call is refused, whatever `on_error` says.
            let reason = format!(
                "ccbreaker: this call is refused: ccbreaker's state was made unusable ({}). Its budgets cannot be \
                 checked until a person fixes or removes `{}` (ccbreaker rebuilds it from the transcripts).",
                err.report(),
                call.state_dir.display()
            );
            if kind.can_block() {
                call.audit(audit::Kind::Refuse, &reason);
            }
            let mut answer = render(kind, &Action::Block(reason.clone()), policy.on_breach);
            if answer.stderr.is_empty() {
                answer.stderr = format!("ccbreaker: {}\n", err.report());
            }
            let mut outcome = Outcome::of(answer, Some(&call.session)).halting(kind, &reason);
            outcome.alert = Some(super::follow::tamper_alert(call, &reason));
            outcome
        }
        Err(err) => {
            if policy.on_error == OnError::Block && kind.can_block() {
                call.audit(audit::Kind::Error, &err.report());
            }
            let answer = own_fault(kind, &err, policy.on_error, policy.on_breach, OnErrorSource::Config);
            let reason = answer.reason();
            let mut outcome = Outcome::of(answer, Some(&call.session));
            if policy.on_error == OnError::Block {
                outcome = outcome.halting(kind, &reason);
            }
            outcome.alert = Some(super::follow::fault_alert(call, &err, policy.on_error));
            outcome
        }
    }
}

/// A `PreToolUse` let through with its input rewritten (the subagent on the cheaper model), or the mod's spawn let
/// through with the model it is to start on, with the warning or the downgrade's notice shown.
fn downgraded(kind: EventKind, action: &Action, downgrade: breakers::Downgrade) -> Answer {
    let mut answer = if kind.is_mod() {
        serde_json::json!({"allow": true, "model": downgrade.input["model"]})
    } else {
        serde_json::json!({"hookSpecificOutput": {"hookEventName": "PreToolUse",
            "permissionDecision": "allow", "updatedInput": downgrade.input}})
    };
    let message = match (action, downgrade.message) {
        (Action::Warn(warning), Some(note)) => Some(format!("{warning} {note}")),
        (Action::Warn(warning), None) => Some(warning.clone()),
        (_, note) => note,
    };
    if let Some(message) = message {
        let key = if kind.is_mod() { "message" } else { "systemMessage" };
        answer[key] = serde_json::Value::String(message);
    }
    Answer { stdout: format!("{answer}\n"), stderr: String::new(), code: crate::error::exit::OK }
}

/// The notice that the last good config is in force, shown with whatever the call answers (a block keeps its
/// reason).
fn with_notice(action: Action, notice: Option<&str>) -> Action {
    match (action, notice) {
        (action, None) => action,
        (Action::Allow, Some(notice)) => Action::Warn(notice.to_owned()),
        (Action::Warn(message), Some(notice)) => Action::Warn(format!("{notice}; {message}")),
        (block @ Action::Block(_), Some(_)) => block,
    }
}

/// Whether an error is ccbreaker's state made unusable from outside (a tamper), as opposed to a genuine fault (a
/// full disk, a slow one, a bug), which follows `policy.on_error`.
fn seized(err: &Error) -> bool {
    use crate::ledger::keys::KeysError;
    use std::io::ErrorKind::{IsADirectory, NotADirectory, PermissionDenied};
    let unusable = |source: &std::io::Error| matches!(source.kind(), PermissionDenied | NotADirectory | IsADirectory);
    let keys = |err: &KeysError| match err {
        KeysError::Read { source, .. } | KeysError::Write { source, .. } => unusable(source),
        KeysError::Short { .. } => false,
    };
    match err {
        Error::Ledger(LedgerError::LockSeized { .. } | LedgerError::LockReplaced { .. }) => true,
        Error::Ledger(
            LedgerError::CreateDir { source, .. }
            | LedgerError::OpenLock { source, .. }
            | LedgerError::Read { source, .. }
            | LedgerError::Write { source, .. },
        ) => unusable(source),
        Error::Ledger(LedgerError::Keys(err)) | Error::Keys(err) => keys(err),
        _ => false,
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

    /// The config file as a block reason names it (in locked mode, to be edited as root).
    pub(super) fn config_shown(&self) -> String {
        if self.place.is_locked() {
            format!("{} (as root)", self.config_path.display())
        } else {
            self.config_path.display().to_string()
        }
    }

    pub(super) fn today(&self) -> NaiveDate {
        self.config.budget.timezone.date_of(self.now)
    }

    /// This session's standing in `locked`'s ledger.
    pub(crate) fn judge<'l>(&'l self, locked: &'l Locked) -> Judge<'l> {
        Judge {
            ledger: &locked.ledger,
            allowances: &locked.allowances,
            config: &self.config,
            session: &self.session,
            today: self.today(),
            now: self.now,
            home: self.env.home.as_deref(),
        }
    }
}

/// The tamper check of a `PreToolUse` (see [`tamper`]): what ccbreaker owns and the settings files that hold its
/// hooks, for this session's project (`CLAUDE_PROJECT_DIR`, else the event's working directory).
fn tampering(call: &Call) -> Option<String> {
    let event = call.event;
    let input = event.tool_input.as_deref().filter(|_| call.kind == EventKind::PreToolUse)?;
    let cwd = event.cwd.as_deref().map(PathBuf::from).or_else(|| std::env::current_dir().ok()).unwrap_or_default();
    let project = call.env.project_dir.clone().unwrap_or(cwd);
    let mut settings = install::settings_files(call.env, &project);
    settings.push(crate::locked::managed_settings());
    let binary = std::env::current_exe().ok();
    let mut protected =
        tamper::Protected::new(&call.config_path, &call.state_dir, binary, settings, call.env.home.clone());
    protected.owned.extend(call.place.user_config.clone());
    if let Some(plugin) = &call.env.plugin_root {
        protected.owned.push(plugin.join("hooks"));
        protected.owned.push(plugin.join("mod"));
    }
    // ccbreaker's mod: where `install` writes it, and in locked mode where `install --locked` did.
    protected.owned.push(crate::paths::mod_dir(call.env));
    protected.owned.extend(call.place.mode.install().and_then(|i| i.mod_dir.clone()));
    tamper::check(event, &ToolInput::new(input), &protected)
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
    /// Neither: the config could not be read, and no earlier good config is kept to fall back on.
    Unreadable,
}

/// A fault of ccbreaker's own (config, state): allow with a visible warning, or block, as configured. The notice
/// carries the whole error, causes included.
fn own_fault(kind: EventKind, err: &Error, on_error: OnError, on_breach: OnBreach, source: OnErrorSource) -> Answer {
    let message = err.report();
    let why = match source {
        OnErrorSource::Config => format!("policy.on_error is \"{}\"", on_error.as_str()),
        OnErrorSource::Env => format!("CCBREAKER_ON_ERROR is \"{}\"", on_error.as_str()),
        OnErrorSource::Unreadable => "the config cannot be read, and no earlier good config is kept".to_owned(),
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
    /// The block is for a tampered transcript, not a budget.
    tampered: bool,
    /// The budget this call's verdict is about, when it warns or blocks.
    breach: Option<Standing>,
    /// What the team's side raises (see [`team_step`]), and whether the block is the team's.
    team_alert: Option<Alert>,
    team_block: bool,
    /// The block refuses this call only (the loop breaker below its stop), whatever `on_breach` says.
    deny_only: bool,
    /// The call is let through with its subagent on the cheaper model (`policy.downgrade_at`).
    downgrade: Option<breakers::Downgrade>,
}

/// The parts of a call that reading and deciding need: prices and roots, the store, the lock's patience, and the
/// transcript to read (if it may be read).
struct Setup<'a> {
    ctx: sync::Context<'a>,
    store: Store,
    lock_timeout: Duration,
    transcript: Option<&'a Path>,
}

impl<'a> Setup<'a> {
    fn open(call: &'a Call) -> Result<Setup<'a>, Error> {
        let mut ctx = sync::Context::new(call.place, &call.config, call.now)?;
        ctx.budget = Budget { bytes: sync::HOOK_BYTES, deadline: Some(call.started + sync::HOOK_READ_FOR) };
        let store = Store::open(&call.state_dir)?.with_grants(call.place.grants.clone());
        let lock_timeout = call.env.lock_timeout()?;
        // The transcript is read wherever the client says it is, if it is a `.jsonl` file (the reader takes only a
        // regular file).
        let transcript = call.event.transcript_path.as_deref().filter(|p| p.extension().is_some_and(|e| e == "jsonl"));
        Ok(Setup { ctx, store, lock_timeout, transcript })
    }

    /// Takes the lock and reads what is new: the session's own files, and every root when a walk is due.
    fn lock_and_read(&mut self, call: &Call, timings: &mut HookTimings) -> Result<Locked, Error> {
        let before_lock = call.started.elapsed();
        let mut locked = self.store.lock(self.lock_timeout, &self.ctx.ledger_basis())?;
        let locked_at = call.started.elapsed();
        timings.lock_us += micros(locked_at - before_lock);
        remember_config(&mut locked, call);
        apply_grant(&mut locked, call);
        if let Some(request) = call.gate {
            gate::record_plan(&mut locked, call, request);
        }
        copy_plan_usage(&mut locked, call);
        // Marked before reading, so the tool-call ids of this read are remembered for the session (a hook waits for
        // them), and its responses are paired with the steps the mod reports (see `ledger::overlay`).
        let entry = locked.ledger.sessions.entry(call.session.clone()).or_default();
        match call.kind {
            EventKind::Mod(_) => entry.mod_seen = Some(call.now),
            // An agent that stops has no model request in flight.
            EventKind::Stop | EventKind::SubagentStop => {
                entry.hooked = true;
                let agent = call.event.agent_id.as_deref().unwrap_or("");
                entry.reserved.retain(|r| r.agent != agent);
            }
            _ => entry.hooked = true,
        }
        let read = sync::sync(&mut locked, self.transcript, Scan::IfDue, &self.ctx)?;
        if !read.tampered.is_empty() {
            let entry = locked.ledger.sessions.entry(call.session.clone()).or_default();
            let flag = entry.tampered.get_or_insert_with(|| Tampered { at: call.now, reasons: Vec::new() });
            for reason in read.tampered {
                if !flag.reasons.contains(&reason) && flag.reasons.len() < 8 {
                    flag.reasons.push(reason);
                }
            }
        }
        timings.tail_us += micros(call.started.elapsed() - locked_at);
        timings.files_read += read.stats.files;
        timings.bytes_read += read.stats.bytes;
        timings.scanned |= read.scanned;
        Ok(locked)
    }
}

/// With a plan budget set, the plan's windows as `ccbreaker statusline` last recorded them, into the ledger, where
/// the decision reads them (the newest reading wins; the file is read only when a plan budget is set).
fn copy_plan_usage(locked: &mut Locked, call: &Call) {
    let scopes = &call.config.budget.scopes;
    if scopes.five_hour_pct <= 0.0 && scopes.seven_day_pct <= 0.0 {
        return;
    }
    for (window, w) in crate::plan::read(&call.state_dir).windows {
        let newer = locked.ledger.plan.get(&window).is_none_or(|kept| kept.seen_at <= w.seen_at);
        if newer {
            let reading = crate::ledger::state::PlanReading {
                used_percentage: w.used_percentage,
                resets_at: w.resets_at,
                seen_at: w.seen_at,
            };
            locked.ledger.plan.insert(window, reading);
        }
    }
}

/// Keeps the config just read as the last good copy, when it differs from the one kept.
fn remember_config(locked: &mut Locked, call: &Call) {
    let effective = call.effective;
    if effective.good.is_empty() || locked.ledger.config_hash == effective.fingerprint {
        return;
    }
    match effective.remember(&call.state_dir, call.now) {
        Ok(()) => locked.ledger.config_hash = effective.fingerprint,
        Err(err) => locked.ledger.note(format!("could not keep a copy of the config: {err}")),
    }
}

/// Applies a grant made since this session's hook last looked (`ccbreaker allow`): its warnings are shown again, and
/// a tampered transcript is accepted as it now is (its spend stays counted; what it holds now is read afresh).
fn apply_grant(locked: &mut Locked, call: &Call) {
    let Some(grant) = locked.allowances.sessions.get(&call.session) else { return };
    let Some(at) = grant.granted_at else { return };
    let entry = locked.ledger.sessions.entry(call.session.clone()).or_default();
    if entry.grant_seen.is_some_and(|seen| seen >= at) {
        return;
    }
    entry.grant_seen = Some(at);
    entry.warned_session = false;
    entry.warned_day = None;
    entry.blocked_since = None;
    if let Some(tripped) = entry.tripped.take() {
        entry.calls.clear();
        call.audit(audit::Kind::Allow, &format!("breaker lifted: {}", tripped.reason));
    }
    let Some(tampered) = entry.tampered.take() else { return };
    if let Some(transcript) = call.event.transcript_path.as_deref() {
        let main = transcript.to_string_lossy().into_owned();
        let dir = format!("{}{}", transcript.with_extension("").display(), std::path::MAIN_SEPARATOR);
        let session = call.session.as_str();
        locked.ledger.files.retain(|path, c| c.session != session || (*path != main && !path.starts_with(&dir)));
    }
    call.audit(audit::Kind::Allow, &format!("tampered transcript accepted: {}", tampered.reasons.join("; ")));
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
        if let Some(request) = call.gate {
            gate::keep(&mut locked, call, request, &setup.ctx.prices);
        }
        let read_at = call.started.elapsed();
        let tampered = locked.ledger.sessions.get(&call.session).and_then(|s| s.tampered.clone());
        let (verdict, worth_waiting) = assess(call, &locked, &setup.ctx.prices);
        if tampered.is_none() && worth_waiting && Instant::now() + POLL <= deadline {
            // The response that issued this call is still being written (or, for the mod, requests in flight are about
            // to finish): let go of the lock, look again soon.
            save(locked)?;
            wait_started.get_or_insert_with(Instant::now);
            std::thread::sleep(POLL);
            continue;
        }
        // The budget the verdict is about (for a warning, the first one it warns of afresh), for the alert.
        let warned = |locked: &Locked| {
            locked.ledger.sessions.get(&call.session).map(|e| (e.warned_session, e.warned_day, e.warned.clone()))
        };
        let before = warned(&locked);
        let standings = match &verdict {
            Verdict::Breach(standing) => vec![*standing],
            Verdict::Warn(standings) => standings.clone(),
            Verdict::Allow => Vec::new(),
        };
        // A breaker's verdict comes before the budgets' (a session a breaker stopped stays stopped).
        let trip = match &tampered {
            None => breaker_trip(&mut locked, call),
            Some(_) => None,
        };
        let mut deny_only = false;
        let mut tripped_by = None;
        let action = match (&tampered, trip) {
            (Some(flag), _) => Action::Block(tamper_reason(flag, call)),
            // A finished step is recorded (`gate::keep`); there is nothing to decide.
            (None, _) if call.kind == EventKind::Mod(ModAsk::StepEnd) => Action::Allow,
            (None, Some(Trip::Stop(reason, standing))) => {
                tripped_by = standing;
                locked.ledger.sessions.entry(call.session.clone()).or_default().blocked_since.get_or_insert(call.now);
                Action::Block(reason)
            }
            (None, Some(Trip::Deny(reason, standing))) => {
                (deny_only, tripped_by) = (true, Some(standing));
                Action::Block(reason)
            }
            (None, None) => conclude(&mut locked, call, verdict, setup.ctx.correction.is_some()),
        };
        let (action, team_alert, team_block) = team_step(call, &mut locked, action)?;
        let after = warned(&locked);
        let fresh = |s: &Standing| match s.scope {
            Scope::Session => before.as_ref().map(|b| b.0) != after.as_ref().map(|a| a.0),
            Scope::Day => before.as_ref().map(|b| b.1) != after.as_ref().map(|a| a.1),
            _ => {
                let key = warn_key(s);
                let had =
                    |w: &Option<(bool, Option<NaiveDate>, Vec<String>)>| w.as_ref().is_some_and(|w| w.2.contains(&key));
                !had(&before) && had(&after)
            }
        };
        let breach = match &action {
            _ if tripped_by.is_some() => tripped_by,
            Action::Warn(_) => standings.iter().copied().find(|s| fresh(s)),
            _ => standings.first().copied(),
        };
        match (&action, call.gate) {
            (Action::Block(reason), _) if call.kind.can_block() => halted(&mut locked, call, reason),
            (Action::Block(_), _) => {}
            (_, Some(request)) if call.kind == EventKind::Mod(ModAsk::Step) => {
                gate::reserve(&mut locked, call, request, &setup.ctx.prices);
            }
            _ => {}
        }
        let downgrade = match &action {
            Action::Allow | Action::Warn(_) => breakers::downgrade(&mut locked, call),
            Action::Block(_) => None,
        };
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
        return Ok(Decision {
            action,
            wait_us,
            tampered: tampered.is_some(),
            breach,
            team_alert,
            team_block,
            deny_only,
            downgrade,
        });
    }
}

/// The team budgets (`[team]`, see [`crate::team`]): one exchange with the team's server, whose block stands
/// unless the call is blocked already; and the alert it raises, if any.
fn team_step(call: &Call, locked: &mut Locked, action: Action) -> Result<(Action, Option<Alert>, bool), Error> {
    let Some(team) = &call.config.team else { return Ok((action, None, false)) };
    let config = call.config_path.display().to_string();
    let can_warn = call.kind.can_block() && !call.kind.is_mod();
    let asking = crate::team::Asking { config: &config, warn_at: call.config.budget.warn_at, can_warn };
    let check =
        crate::team::check(team, call.env, &call.state_dir, &locked.keys, &locked.ledger.keys, call.now, &asking)?;
    match (check.block, check.warn, action) {
        (Some(reason), _, action) if !matches!(action, Action::Block(_)) => {
            locked.ledger.sessions.entry(call.session.clone()).or_default().blocked_since.get_or_insert(call.now);
            Ok((Action::Block(reason), check.alert, true))
        }
        (None, Some(warning), Action::Allow) => Ok((Action::Warn(warning), check.alert, false)),
        (None, Some(warning), Action::Warn(local)) => {
            Ok((Action::Warn(format!("{local} {warning}")), check.alert, false))
        }
        (_, _, action) => Ok((action, check.alert, false)),
    }
}

/// A breaker's verdict on this call: a session stopped earlier, or the loop breaker (which remembers the call). A
/// stop is kept in the session.
fn breaker_trip(locked: &mut Locked, call: &Call) -> Option<Trip> {
    if let Some(reason) = breakers::tripped(locked, call) {
        return Some(Trip::Stop(reason, None));
    }
    breakers::track_agents(locked, call);
    if let Some(refused) = breakers::check_spawn(locked, call) {
        return Some(refused);
    }
    let trip = breakers::check_api_errors(locked, call).or_else(|| breakers::check_loop(locked, call))?;
    if let Trip::Stop(reason, _) = &trip {
        breakers::trip(locked, call, reason);
    }
    Some(trip)
}

/// Records a gate's refusal in the session (what `ccbreaker exec` reads to tell a halted run from a finished one).
fn halted(locked: &mut Locked, call: &Call, reason: &str) {
    let entry = locked.ledger.sessions.entry(call.session.clone()).or_default();
    entry.halted = Some(Halted {
        at: call.now,
        by: if call.kind.is_mod() { "mod" } else { "hooks" }.to_owned(),
        event: call.event.hook_event_name.clone().unwrap_or_default(),
        reason: reason.to_owned(),
    });
}

fn tamper_reason(flag: &Tampered, call: &Call) -> String {
    format!(
        "ccbreaker: this session's transcript was tampered with: {}. Its spend so far stays counted, and its calls \
         are refused until a person runs `{} allow --session {}` in a terminal.",
        flag.reasons.join("; "),
        call.place.human_command(),
        call.session
    )
}

/// The session's standing against its limits, and whether waiting for the response that issued this call is
/// worth its latency: the call's `tool_use_id` is not in the transcript yet, and that response could cross a
/// budget.
fn assess(call: &Call, locked: &Locked, prices: &PriceTable) -> (Verdict, bool) {
    let judge = call.judge(locked);
    if let Some(request) = call.gate {
        // The mod's request: over a budget only because of requests in flight, whose usage may come in first.
        let ask = gate::ask(call.kind, request);
        let verdict = judge.verdict(ask);
        let worth_waiting = ask != Ask::Hook
            && matches!(verdict, Verdict::Breach(_))
            && !matches!(judge.verdict(Ask::Hook), Verdict::Breach(_));
        return (verdict, worth_waiting);
    }
    let spend = locked.ledger.sessions.get(&call.session);
    let verdict = judge.verdict(Ask::Hook);
    if matches!(verdict, Verdict::Breach(_)) {
        return (verdict, false);
    }
    let pending = match (call.kind, call.event.tool_use_id.as_deref()) {
        (EventKind::PreToolUse, Some(id)) => !spend.is_some_and(|s| s.saw_tool_use(id)),
        _ => false,
    };
    let predict = call.config.policy.predict && call.kind.can_block();
    if !pending && !predict {
        return (verdict, false);
    }
    // The dollar budget the next response could reach, if any (every scope counts, not only the session and day).
    let bound = verdict::next_response_bound(spend, None, prices, call.now);
    let reach =
        judge.standings(Ask::Hook).into_iter().find(|s| !s.scope.counts() && s.spent.saturating_add(bound) >= s.limit);
    match reach {
        // The response that issued this call is still being written, and could cross a budget: wait for it.
        Some(_) if pending => (verdict, true),
        // `policy.predict`: refuse before the crossing (the reason says the budget is not yet reached).
        Some(standing) if predict => (Verdict::Breach(standing), false),
        _ => (verdict, false),
    }
}

/// What records that the warning of a scope beyond the session and the day was shown for its period.
fn warn_key(s: &Standing) -> String {
    format!("{}@{}", s.scope.key(), s.period)
}

/// How many warnings of other scopes a session remembers (a long session crosses many 5-hour blocks).
const WARNED_KEPT: usize = 32;

/// Turns the verdict into an action, recording warnings shown and blocks in the session's entry.
fn conclude(locked: &mut Locked, call: &Call, verdict: Verdict, corrected: bool) -> Action {
    let project = call.event.transcript_path.as_deref().map(discover::project_of_transcript).unwrap_or_default();
    let today = call.today();
    let estimated = match &verdict {
        Verdict::Breach(standing) => call.judge(locked).estimated_part(standing.scope),
        _ => None,
    };
    let entry = locked.ledger.sessions.entry(call.session.clone()).or_default();
    if entry.project.is_empty() {
        entry.project = project;
    }
    if entry.dir.is_empty() {
        // Until a response says where the session runs: where Claude Code says its project is.
        let dir = call.env.project_dir.clone().or_else(|| call.event.cwd.as_deref().map(PathBuf::from));
        entry.dir = dir.map(|d| d.to_string_lossy().into_owned()).unwrap_or_default();
    }
    if !call.kind.is_mod() {
        entry.hooked = true;
    }
    let action = match verdict {
        Verdict::Allow => Action::Allow,
        Verdict::Breach(standing) => {
            entry.blocked_since.get_or_insert(call.now);
            Action::Block(breach_reason(&standing, estimated, call, corrected))
        }
        // A warning is marked as shown only where it can be shown (not on Stop, SubagentStop, ...; the mod shows
        // nothing: the next hook shows it).
        Verdict::Warn(_) if !call.kind.can_block() || call.kind.is_mod() => Action::Allow,
        Verdict::Warn(standings) => {
            let fresh: Vec<Standing> = standings
                .into_iter()
                .filter(|s| match s.scope {
                    Scope::Session => !entry.warned_session,
                    Scope::Day => entry.warned_day != Some(today),
                    _ => !entry.warned.contains(&warn_key(s)),
                })
                .collect();
            for s in &fresh {
                match s.scope {
                    Scope::Session => entry.warned_session = true,
                    Scope::Day => entry.warned_day = Some(today),
                    _ => {
                        entry.warned.push(warn_key(s));
                        let excess = entry.warned.len().saturating_sub(WARNED_KEPT);
                        entry.warned.drain(..excess);
                    }
                }
            }
            if fresh.is_empty() { Action::Allow } else { Action::Warn(warning(&fresh, &call.config)) }
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

/// With `estimated`, the reason says how much of the spend is an estimate for responses whose final usage was never
/// written; with `corrected`, that the spend is the local estimate times the factors `ccbreaker reconcile` measured.
fn breach_reason(standing: &Standing, estimated: Option<(Pico, u64)>, call: &Call, corrected: bool) -> String {
    let extra = call.config.budget.suggested_extra();
    let spent = if corrected {
        format!("{} (corrected by the billed/local factors of `ccbreaker reconcile`)", standing.spent)
    } else {
        standing.spent.to_string()
    };
    let estimate = match estimated {
        Some((usd, n)) => format!(
            " (of which {usd} is an estimate for {n} response(s) whose final usage Claude Code did not write; see \
             budget.incomplete_output_tokens)"
        ),
        None => String::new(),
    };
    let lift =
        format!("{} allow --session {} --add-usd {}", call.place.human_command(), call.session, format_usd_arg(extra));
    let config = call.config_shown();
    if standing.spent < standing.limit {
        // `policy.predict`: refused before the crossing.
        let words = crate::standings::words(standing, &call.config);
        let spent = match standing.scope {
            Scope::Session => format!("this session has spent {spent}{estimate}"),
            Scope::Day => format!("{spent}{estimate} spent today across all sessions"),
            _ => format!("{}{estimate}", words.spent),
        };
        return format!(
            "ccbreaker: {} would be reached by the next response: {spent} of a {} {}, and one response can cost \
             more than the {} left (policy.predict). To go on, run `{lift}` in a terminal, or raise {} in {config}.",
            words.name,
            standing.limit,
            words.name,
            standing.limit.saturating_sub(standing.spent),
            words.key,
        );
    }
    match standing.scope {
        Scope::Session => format!(
            "ccbreaker: session budget reached: this session has spent {spent}{estimate} of its {} budget. To go on, \
             run `{lift}` in a terminal, or raise budget.session_usd in {config}.",
            standing.limit,
        ),
        Scope::Day => format!(
            "ccbreaker: daily budget reached: {spent}{estimate} spent today ({}, {}) across all sessions, of a {} \
             daily budget. It resets at midnight; to go on now, run `{lift}` in a terminal, or raise budget.daily_usd \
             in {config}.",
            call.today(),
            call.config.budget.timezone.name(),
            standing.limit,
        ),
        scope if scope.counts() => {
            let words = crate::standings::words(standing, &call.config);
            let resets =
                words.resets.map(|r| format!(" It resets {r}; to go on sooner,")).unwrap_or(" To go on,".to_owned());
            format!(
                "ccbreaker: {} reached: {} of a {} {} ({}).{resets} raise {} in {config}.",
                words.name,
                words.spent,
                crate::standings::amount(scope, standing.limit),
                words.name,
                words.key,
                words.key,
            )
        }
        _ => {
            let words = crate::standings::words(standing, &call.config);
            let resets =
                words.resets.map(|r| format!(" It resets {r}; to go on now,")).unwrap_or(" To go on,".to_owned());
            format!(
                "ccbreaker: {} reached: {}{estimate} of a {} {} ({}).{resets} run `{lift}` in a terminal, or raise {} in \
                 {config}.",
                words.name, words.spent, standing.limit, words.name, words.key, words.key,
            )
        }
    }
}

fn format_usd_arg(usd: f64) -> String {
    if usd.fract() == 0.0 { format!("{usd:.0}") } else { format!("{usd}") }
}

fn warning(standings: &[Standing], config: &crate::config::Config) -> String {
    let parts: Vec<String> = standings
        .iter()
        .map(|s| {
            let percent = (s.spent.0 as u128 * 100 / s.limit.0.max(1) as u128) as u64;
            match s.scope {
                Scope::Session => format!("this session has spent {} of its {} budget ({percent}%)", s.spent, s.limit),
                Scope::Day => format!("{} spent today of the {} daily budget ({percent}%)", s.spent, s.limit),
                scope => {
                    let words = crate::standings::words(s, config);
                    format!(
                        "{} of the {} {} ({percent}%)",
                        words.spent,
                        crate::standings::amount(scope, s.limit),
                        words.name
                    )
                }
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
        "at": crate::text::rfc3339(at),
        "event": event.hook_event_name,
        "session": outcome.session,
        "agent_id": event.agent_id,
        "tool_use_id": event.tool_use_id,
        "exit": answer.code,
        "stdout": answer.stdout.trim_end(),
        "stderr": answer.stderr.trim_end(),
        "total_us": started.elapsed().as_micros() as u64,
        "wait_us": outcome.wait_us,
    });
    let _ = append_line(path, &line.to_string());
}

/// One `write` of the whole line, newline included, so that calls logging at once (hooks and the mod's gate run in
/// parallel) never interleave their lines (`writeln!` may split a line into several writes).
fn append_line(path: &Path, line: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(format!("{line}\n").as_bytes())
}
