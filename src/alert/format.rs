//! What each channel gets, as pure functions of the alert: a webhook's JSON (a `text` field for Slack, `content`
//! for Discord, and the alert itself), ntfy's body and headers, the desktop notifier's command line.

use super::Alert;
use crate::config::AlertKind;
use serde_json::{Value, json};

/// Discord refuses a `content` longer than this.
const DISCORD_MAX: usize = 2000;

/// The alert in one piece of text: the title, then the message.
pub(crate) fn text(alert: &Alert) -> String {
    let host = if alert.host.is_empty() { String::new() } else { format!(" [{}]", alert.host) };
    format!("{}{host}\n{}", alert.title, alert.message)
}

/// A webhook's body: `text` (Slack), `content` (Discord, cut to its limit), and the alert's fields under
/// `ccbreaker`, for any other receiver.
pub(crate) fn webhook_body(alert: &Alert) -> Value {
    let text = text(alert);
    let content = cut(&text, DISCORD_MAX);
    json!({ "text": text, "content": content, "ccbreaker": alert })
}

/// ntfy's body (the message) and headers: its title, a priority (high on a block, a tamper refusal or a
/// fail-open), and a tag.
pub(crate) fn ntfy(alert: &Alert) -> (String, Vec<(&'static str, String)>) {
    let priority = match alert.kind {
        AlertKind::Block | AlertKind::Tamper | AlertKind::FailOpen => "high",
        AlertKind::Warn | AlertKind::Reconcile => "default",
        AlertKind::Digest => "low",
    };
    let tag = match alert.kind {
        AlertKind::Block => "no_entry",
        AlertKind::Tamper => "lock",
        AlertKind::FailOpen => "warning",
        AlertKind::Warn => "money_with_wings",
        AlertKind::Reconcile => "receipt",
        AlertKind::Digest => "bar_chart",
    };
    let host = if alert.host.is_empty() { String::new() } else { format!(" [{}]", alert.host) };
    // Header values must be plain ASCII.
    let title = header_text(&format!("{}{host}", alert.title));
    (alert.message.clone(), vec![("Title", title), ("Priority", priority.to_owned()), ("Tags", tag.to_owned())])
}

/// The desktop notifier: `notify-send` (Linux and the BSDs) or `osascript` (macOS), and its arguments.
pub(crate) fn desktop(alert: &Alert, macos: bool) -> (&'static str, Vec<String>) {
    if macos {
        let quote = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
        let script = format!("display notification {} with title {}", quote(&alert.message), quote(&alert.title));
        return ("osascript", vec!["-e".to_owned(), script]);
    }
    let urgency = match alert.kind {
        AlertKind::Block | AlertKind::Tamper | AlertKind::FailOpen => "critical",
        _ => "normal",
    };
    (
        "notify-send",
        vec!["-a".into(), "ccbreaker".into(), "-u".into(), urgency.into(), alert.title.clone(), alert.message.clone()],
    )
}

fn header_text(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii() && !c.is_ascii_control() { c } else { '?' }).collect()
}

/// `s` cut to at most `max` characters, with an ellipsis when cut.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, Utc};

    fn alert(kind: AlertKind) -> Alert {
        let at = DateTime::parse_from_rfc3339("2026-11-24T12:00:00Z").unwrap().with_timezone(&Utc);
        let mut a =
            Alert::new(kind, "day".into(), "ccbreaker: daily budget reached — $51".into(), "why \"it\"".into(), at);
        a.host = "box".into();
        a
    }

    #[test]
    fn a_webhook_gets_slack_and_discord_fields() {
        let body = webhook_body(&alert(AlertKind::Block));
        assert_eq!(body["text"], "ccbreaker: daily budget reached — $51 [box]\nwhy \"it\"");
        assert_eq!(body["content"], body["text"]);
        assert_eq!(body["ccbreaker"]["kind"], "block");
        let mut long = alert(AlertKind::Warn);
        long.message = "x".repeat(5000);
        assert_eq!(webhook_body(&long)["content"].as_str().unwrap().chars().count(), DISCORD_MAX);
    }

    #[test]
    fn ntfy_gets_a_high_priority_on_a_block_and_ascii_headers() {
        let (body, headers) = ntfy(&alert(AlertKind::Block));
        assert_eq!(body, "why \"it\"");
        assert_eq!(headers[0], ("Title", "ccbreaker: daily budget reached ? $51 [box]".to_owned()));
        assert_eq!(headers[1], ("Priority", "high".to_owned()));
        assert_eq!(ntfy(&alert(AlertKind::Warn)).1[1].1, "default");
    }

    #[test]
    fn the_desktop_notifier_is_quoted_for_osascript() {
        let (program, args) = desktop(&alert(AlertKind::Block), true);
        assert_eq!(program, "osascript");
        assert!(args[1].starts_with("display notification \"why \\\"it\\\"\" with title"), "{}", args[1]);
        let (program, args) = desktop(&alert(AlertKind::Block), false);
        assert_eq!((program, args[3].as_str()), ("notify-send", "critical"));
    }
}
