//! Alerts: telling the human where they are (a phone, a chat channel, the desktop) when a budget warns or blocks, a
//! call is refused as tampering, or ccbreaker lets a call through unchecked.
//!
//! The hook never waits for one. It decides whether an alert is due (one per scope and kind per
//! `alerts.cooldown_minutes`, counted in `alerts.json` under its own lock, so sixty-four hooks blocked at once send
//! one), then starts `ccbreaker-net alert deliver` detached, with the alert on its stdin, and answers. That process
//! (which holds the HTTP client the hook's binary must not link) delivers to every channel with a short timeout,
//! records each channel's result, and keeps what failed to send again with the next alert.
//!
//! Here: what an alert is, and raising one from the hook. `state.rs` is the record, `deliver.rs` the network side
//! (reached only from `ccbreaker-net`), `format.rs` the texts and bodies each channel gets.

pub(crate) mod deliver;
pub(crate) mod format;
pub(crate) mod state;

use crate::config::{AlertKind, Alerts};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// One alert, as the channels get it (the command channel reads exactly this JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Alert {
    pub kind: AlertKind,
    /// What the cooldown counts per: `session:<id>`, `day:<date>`, `hook`, `reconcile`, `digest:<date>`.
    pub scope: String,
    /// One line: what happened.
    pub title: String,
    /// The whole text (a block's reason, with the command that lifts it).
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spent_usd: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_usd: Option<f64>,
    /// When it happened (RFC 3339, UTC).
    pub at: DateTime<Utc>,
    /// The machine, filled in when it is delivered.
    #[serde(default)]
    pub host: String,
    /// A test alert (`ccbreaker alert test`), which no cooldown holds back.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub test: bool,
}

impl Alert {
    pub(crate) fn new(kind: AlertKind, scope: String, title: String, message: String, at: DateTime<Utc>) -> Alert {
        Alert {
            kind,
            scope,
            title,
            message,
            session: None,
            project: None,
            spent_usd: None,
            limit_usd: None,
            at,
            host: String::new(),
            test: false,
        }
    }

    /// What the cooldown counts.
    pub(crate) fn key(&self) -> String {
        format!("{}:{}", self.kind.as_str(), self.scope)
    }
}

/// The subcommand of `ccbreaker-net` that delivers an alert read on its stdin.
pub(crate) const DELIVER: [&str; 2] = ["alert", "deliver"];
/// The subcommand of `ccbreaker-net` that sends the digest of the day before `--date`.
pub(crate) const DAILY_DIGEST: [&str; 2] = ["digest", "--daily"];

/// Raises `alert` from the hook: if it is due (its kind is sent, a channel is configured, its cooldown is over, as
/// recorded under the alerts lock), records it as sent and starts its delivery in a detached `ccbreaker-net`
/// (`net`). Never waits for the delivery and never fails: an alert must not change or slow an answer.
pub(crate) fn raise(state_dir: &Path, net: &Path, alerts: &Alerts, alert: &Alert) {
    if !alerts.sends(alert.kind) {
        return;
    }
    let cooldown = chrono::Duration::minutes(alerts.cooldown_minutes as i64);
    let due = state::Record::update(state_dir, |record| record.claim(&alert.key(), alert.at, cooldown));
    if !matches!(due, Ok(true)) {
        return;
    }
    start(state_dir, net, &DELIVER, Some(alert), alerts);
}

/// Once a day, with the first hook call of `today`: starts the delivery of yesterday's digest line. One `open` when
/// the day's marker exists already (every other call of the day).
pub(crate) fn daily(state_dir: &Path, net: &Path, alerts: &Alerts, today: NaiveDate) {
    if !alerts.daily_digest || alerts.channels.is_empty() {
        return;
    }
    if !state::claim_day(state_dir, today) {
        return;
    }
    let Some(yesterday) = today.pred_opt() else { return };
    let date = yesterday.to_string();
    let args = [DAILY_DIGEST[0], DAILY_DIGEST[1], "--date", date.as_str()];
    start(state_dir, net, &args, None, alerts);
}

/// Starts `net args` in its own process group, with `alert` on its stdin and no standard output or error, and does
/// not wait for it. A failure to start it is recorded against every channel (and the alert kept to retry).
fn start(state_dir: &Path, net: &Path, args: &[&str], alert: Option<&Alert>, alerts: &Alerts) {
    let mut command = Command::new(net);
    command.args(args).stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::null());
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    match command.spawn() {
        Ok(mut child) => {
            if let (Some(alert), Some(mut stdin)) = (alert, child.stdin.take()) {
                // A few hundred bytes: far below a pipe's buffer, so this never blocks.
                let _ = stdin.write_all(&serde_json::to_vec(alert).expect("an alert serialises"));
            }
        }
        Err(err) => {
            let why = format!("could not start `{}`: {err}", net.display());
            let channels: Vec<&'static str> = alerts.channels.iter().map(|c| c.channel.name()).collect();
            let _ = state::Record::update(state_dir, |record| {
                let at = alert.map_or_else(Utc::now, |a| a.at);
                for channel in &channels {
                    record.failed(channel, alert, &why, at);
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alert_round_trips_as_the_command_channel_reads_it() {
        let at = DateTime::parse_from_rfc3339("2026-11-24T12:00:00Z").unwrap().with_timezone(&Utc);
        let mut alert = Alert::new(AlertKind::Block, "session:s1".into(), "blocked".into(), "why".into(), at);
        alert.session = Some("s1".into());
        let json = serde_json::to_value(&alert).unwrap();
        assert_eq!(json["kind"], "block");
        assert_eq!(json["at"], "2026-11-24T12:00:00Z");
        assert!(json.get("test").is_none() && json.get("project").is_none());
        assert_eq!(serde_json::from_value::<Alert>(json).unwrap(), alert);
        assert_eq!(alert.key(), "block:session:s1");
    }
}
