//! `ccbreaker alert test`: a test alert through every configured channel, each result reported. And, in
//! `ccbreaker-net` only, `alert deliver`: what a hook starts, detached, to deliver the alert on its stdin.

use super::Io;
use super::args::Args;
use crate::alert::{self, Alert, deliver};
use crate::config::AlertKind;
use crate::error::{Error, exit};
use std::io::Read;

/// `alert test [--kind K] [--json]` (in `ccbreaker-net`; `ccbreaker alert` runs it there).
pub(super) fn alert_net(mut args: Args, io: &mut Io) -> Result<u8, Error> {
    match args.next_word()?.as_deref() {
        Some("test") => {
            let json = args.flag("--json");
            let kind = match args.value("--kind")? {
                None => AlertKind::Block,
                Some(k) => AlertKind::parse(&k).ok_or_else(|| Error::usage(format!("unknown alert kind `{k}`")))?,
            };
            args.finish()?;
            test(kind, json, io)
        }
        Some("deliver") => {
            args.finish()?;
            let mut bytes = Vec::new();
            io.stdin.take(1 << 20).read_to_end(&mut bytes).map_err(Error::Stdin)?;
            let alert: Alert = serde_json::from_slice(&bytes)
                .map_err(|err| Error::Failed(format!("the alert on stdin is not valid: {err}")))?;
            let place = super::place(io, "alert deliver")?;
            let config = super::config(&place, io)?;
            deliver::deliver(&place, &config.alerts, Some(&alert), super::now(&place.env)?);
            Ok(exit::OK)
        }
        Some(other) => Err(Error::usage(format!("unknown `alert` command `{other}`: use `alert test`"))),
        None => Err(Error::usage("`alert` needs `test`")),
    }
}

/// Sends a test alert of `kind` to every channel and prints each result; exit 1 if one failed or none is set.
fn test(kind: AlertKind, json: bool, io: &mut Io) -> Result<u8, Error> {
    let place = super::place(io, "alert test")?;
    let config = super::config(&place, io)?;
    let alerts = &config.alerts;
    if alerts.channels.is_empty() {
        return Err(Error::Failed(format!(
            "no alert channel is configured: set webhook_url, ntfy_url, desktop or command in [alerts] of {}",
            place.config_path.display()
        )));
    }
    let now = super::now(&place.env)?;
    let mut alert = Alert::new(
        kind,
        "test".to_owned(),
        format!("ccbreaker: test alert ({})", kind.as_str()),
        "This is a test of ccbreaker's alerts (`ccbreaker alert test`): nothing was blocked.".to_owned(),
        now,
    );
    alert.test = true;
    let sent = deliver::deliver(&place, alerts, Some(&alert), now);
    if json {
        let text = serde_json::to_string_pretty(&serde_json::json!({ "channels": sent })).expect("results serialise");
        writeln!(io.stdout, "{text}")?;
    } else {
        for s in &sent {
            let what = match &s.error {
                None => format!("ok      {} ({} ms)", s.to, s.duration_ms),
                Some(why) => format!("FAILED  {why}"),
            };
            writeln!(io.stdout, "{:<8} {what}", s.channel)?;
        }
    }
    Ok(if sent.iter().all(|s| s.ok) { exit::OK } else { exit::ERROR })
}

/// The channels' last results, for `status`: one line per channel whose last delivery failed (none when all did well).
pub(super) fn failures(state_dir: &std::path::Path) -> Vec<String> {
    let Ok(record) = alert::state::Record::read(state_dir) else {
        return vec![format!("the alerts record `{}` could not be read", alert::state::path(state_dir).display())];
    };
    record
        .failing()
        .into_iter()
        .map(|(channel, d)| {
            let at = d.at.map(crate::text::rfc3339).unwrap_or_default();
            let pending = record.pending.iter().filter(|p| &p.channel == channel).count();
            let retry = if pending > 0 {
                format!("; {pending} alert(s) will be sent again with the next one")
            } else {
                String::new()
            };
            format!("{channel} failed at {at} ({} in a row): {}{retry}", d.failures, d.error.as_deref().unwrap_or("?"))
        })
        .collect()
}
