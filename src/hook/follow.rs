//! What follows a hook's answer, and never changes it: the run record `ccbreaker exec` reads (see
//! [`crate::runs`]), and the alert the call raised (see [`crate::alert`]), started in a detached process. Nothing
//! here runs unless a run id is set, an alert is due or the daily digest is configured.

use super::event::Event;
use super::run::{Call, Outcome};
use crate::alert::{self, Alert};
use crate::config::{AlertKind, OnError};
use crate::error::Error;
use crate::place::Place;
use crate::policy::{Scope, Standing};
use crate::standings::amount;
use crate::transcript::discover;
use chrono::{DateTime, Utc};

/// After the answer: the run record, then the alert.
pub(super) fn up(place: &Place, event: &Event, outcome: &Outcome, now: DateTime<Utc>) {
    if let (Some(id), Some(session)) = (place.env.run_id.as_deref(), outcome.session.as_deref()) {
        match &outcome.halt {
            None => crate::runs::seen(&place.state_dir, id, session),
            Some(reason) => {
                let halt = crate::runs::Halt {
                    session: session.to_owned(),
                    at: now,
                    by: if event.kind().is_mod() { "gate" } else { "hook" }.to_owned(),
                    event: event.hook_event_name.clone(),
                    reason: reason.clone(),
                };
                crate::runs::halted(&place.state_dir, id, &halt);
            }
        }
    }
    let Some((alerts, today)) = &outcome.alerts else { return };
    let net = match place.mode.install() {
        Some(install) => crate::paths::net_binary_beside(&install.binary),
        None => match std::env::current_exe() {
            Ok(exe) => crate::paths::net_binary_beside(&exe),
            Err(_) => return,
        },
    };
    if let Some(alert) = &outcome.alert {
        alert::raise(&place.state_dir, &net, alerts, alert);
    }
    alert::daily(&place.state_dir, &net, alerts, *today);
}

fn with_session(call: &Call, mut alert: Alert) -> Alert {
    alert.session = Some(call.session.clone());
    alert.project =
        call.event.transcript_path.as_deref().map(discover::project_of_transcript).filter(|p| !p.is_empty());
    alert
}

fn scope_key(call: &Call, standing: Option<Standing>) -> String {
    match standing {
        Some(Standing { scope: Scope::Day, .. }) => format!("day:{}", call.today()),
        // What one session does (its tokens, its loops, spawns, errors, burn rate, its project's session budget): per
        // session, like the session budget.
        Some(s)
            if matches!(
                s.scope,
                Scope::SessionTokens
                    | Scope::Loop
                    | Scope::Subagents
                    | Scope::ApiErrors
                    | Scope::BurnSession
                    | Scope::Project { span: crate::policy::Span::Session, .. }
            ) =>
        {
            format!("{}:{}", s.scope.key(), call.session)
        }
        // The machine's scopes: per scope and period (a block, a week, a model's day).
        Some(s) if s.scope != Scope::Session => format!("{}:{}", s.scope.key(), s.period),
        _ => format!("session:{}", call.session),
    }
}

/// A block: the budget it is about, or a tampered transcript (a tamper alert).
pub(super) fn block_alert(call: &Call, reason: &str, standing: Option<Standing>, tampered: bool) -> Alert {
    let (kind, title) = match (tampered, standing) {
        (true, _) => {
            (AlertKind::Tamper, "ccbreaker: a session was stopped: its transcript was tampered with".to_owned())
        }
        (false, Some(s)) => (
            AlertKind::Block,
            format!(
                "ccbreaker: {} reached: {} of {}",
                scope_name(call, s),
                amount(s.scope, s.spent),
                amount(s.scope, s.limit)
            ),
        ),
        (false, None) => (AlertKind::Block, "ccbreaker: a session was stopped".to_owned()),
    };
    let mut alert = Alert::new(kind, scope_key(call, standing), title, reason.to_owned(), call.now);
    if let Some(s) = standing.filter(|s| !s.scope.counts()) {
        alert.spent_usd = Some(s.spent.usd());
        alert.limit_usd = Some(s.limit.usd());
    }
    with_session(call, alert)
}

/// A warning shown (once per budget and session).
pub(super) fn warn_alert(call: &Call, message: &str, standing: Option<Standing>) -> Alert {
    let title = match standing {
        Some(s) => format!(
            "ccbreaker: {} at {}% ({} of {})",
            scope_name(call, s),
            percent(s),
            amount(s.scope, s.spent),
            amount(s.scope, s.limit)
        ),
        None => "ccbreaker: a budget is nearly spent".to_owned(),
    };
    let mut alert = Alert::new(AlertKind::Warn, scope_key(call, standing), title, message.to_owned(), call.now);
    if let Some(s) = standing.filter(|s| !s.scope.counts()) {
        alert.spent_usd = Some(s.spent.usd());
        alert.limit_usd = Some(s.limit.usd());
    }
    with_session(call, alert)
}

/// A tool call refused as an attempt on ccbreaker itself, or its state made unusable.
pub(super) fn tamper_alert(call: &Call, reason: &str) -> Alert {
    let title = "ccbreaker: a tool call was refused as tampering".to_owned();
    with_session(
        call,
        Alert::new(AlertKind::Tamper, format!("session:{}", call.session), title, reason.to_owned(), call.now),
    )
}

/// A fault of ccbreaker's own: a fail-open (`on_error = "allow"`) or a block.
pub(super) fn fault_alert(call: &Call, err: &Error, on_error: OnError) -> Alert {
    let (kind, title) = match on_error {
        OnError::Allow => (AlertKind::FailOpen, "ccbreaker: could not check the budgets and let a call through"),
        OnError::Block => (AlertKind::Block, "ccbreaker: could not check the budgets and blocked a call"),
    };
    let message = format!("{} (run `ccbreaker doctor`)", err.report());
    with_session(call, Alert::new(kind, "hook".to_owned(), title.to_owned(), message, call.now))
}

fn scope_name(call: &Call, s: Standing) -> String {
    crate::standings::words(&s, &call.config).name
}

fn percent(s: Standing) -> u64 {
    (s.spent.0 as u128 * 100 / s.limit.0.max(1) as u128) as u64
}
