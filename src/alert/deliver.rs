//! Delivering alerts, in `ccbreaker-net` only (the HTTP client lives there): each configured channel, at once, each
//! with `alerts.timeout_secs`; the alerts a channel failed to take before are sent to it again first. Every result
//! is recorded (`state.rs`), and no message says more of a URL than its scheme and host.

use super::state::Record;
use super::{Alert, format};
use crate::config::{Alerts, Channel, Configured, Source, redact_url};
use crate::env::Env;
use crate::place::Place;
use chrono::{DateTime, Utc};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where a channel sends, its secret resolved.
#[derive(Debug, Clone)]
enum Target {
    Webhook(String),
    Ntfy(String),
    Desktop,
    Command(Vec<String>),
}

/// A channel's outcome for one delivery.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub(crate) struct Sent {
    pub channel: &'static str,
    pub ok: bool,
    /// What went wrong (never the URL's secret part).
    pub error: Option<String>,
    /// The redacted destination (`https://ntfy.sh/…`, `notify-send`, the command's program).
    pub to: String,
    pub duration_ms: u64,
}

/// Sends `alert` (if any) and what each channel failed to take before, to every channel of `alerts`; records the
/// results. Returns this delivery's outcome per channel (for `alert test`).
pub(crate) fn deliver(place: &Place, alerts: &Alerts, alert: Option<&Alert>, now: DateTime<Utc>) -> Vec<Sent> {
    let host = hostname();
    let alert = alert.cloned().map(|mut a| {
        a.host.clone_from(&host);
        a
    });
    let names: Vec<&'static str> = alerts.channels.iter().map(|c| c.channel.name()).collect();
    let pending = if alert.as_ref().is_some_and(|a| a.test) {
        Vec::new()
    } else {
        Record::update(&place.state_dir, |r| r.take_pending(&names, now)).unwrap_or_default()
    };
    let timeout = Duration::from_secs(alerts.timeout_secs);
    let locked = place.is_locked();
    let results: Vec<(Sent, Vec<Alert>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = alerts
            .channels
            .iter()
            .map(|configured| {
                let mut queue: Vec<Alert> = pending
                    .iter()
                    .filter(|p| p.channel == configured.channel.name())
                    .map(|p| p.alert.clone())
                    .collect();
                queue.extend(alert.clone());
                let env = &place.env;
                scope.spawn(move || send_all(configured, &queue, env, locked, timeout))
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a delivery thread does not panic")).collect()
    });
    let at = now;
    let _ = crate::files::create_private_dir(&place.state_dir);
    let _ = Record::update(&place.state_dir, |record| {
        for (sent, unsent) in &results {
            match &sent.error {
                None => record.succeeded(sent.channel, at),
                Some(why) if unsent.is_empty() => record.failed(sent.channel, None, why, at),
                Some(why) => {
                    for a in unsent {
                        record.failed(sent.channel, Some(a), why, at);
                    }
                }
            }
        }
    });
    results.into_iter().map(|(sent, _)| sent).collect()
}

/// Sends `queue` to one channel in order; stops at the first failure. Returns the outcome and what was not sent.
fn send_all(
    configured: &Configured,
    queue: &[Alert],
    env: &Env,
    locked: bool,
    timeout: Duration,
) -> (Sent, Vec<Alert>) {
    let channel = configured.channel.name();
    let started = Instant::now();
    let target = resolve(configured, env, locked);
    let to = match &target {
        Ok(Target::Webhook(url) | Target::Ntfy(url)) => redact_url(url),
        Ok(Target::Desktop) => if cfg!(target_os = "macos") { "osascript" } else { "notify-send" }.to_owned(),
        Ok(Target::Command(words)) => words[0].clone(),
        Err(_) => String::new(),
    };
    let outcome = |error: Option<String>, unsent: Vec<Alert>| {
        let millis = started.elapsed().as_millis() as u64;
        (Sent { channel, ok: error.is_none(), error, to: to.clone(), duration_ms: millis }, unsent)
    };
    let target = match target {
        Ok(target) => target,
        Err(why) => return outcome(Some(why), queue.to_vec()),
    };
    for (i, alert) in queue.iter().enumerate() {
        if let Err(why) = send(&target, alert, locked, timeout) {
            return outcome(Some(why), queue[i..].to_vec());
        }
    }
    outcome(None, Vec::new())
}

/// The channel's destination, its secret read from where the config says. In locked mode the root's channels never
/// read the environment (it is the agent's), and a file named by the user's own config is read as the user could
/// read it (never one of ccbreaker's group).
fn resolve(configured: &Configured, env: &Env, locked: bool) -> Result<Target, String> {
    let url = |key: &str, source: &Source| -> Result<String, String> {
        let value = match source {
            Source::Value(url) => url.clone(),
            Source::Env(_) if locked && !configured.from_user => {
                return Err(format!(
                    "alerts.{key}_env is ignored in locked mode (the agent controls the environment): name a file \
                     readable by root and the ccbreaker group with alerts.{key}_file"
                ));
            }
            Source::Env(var) => env
                .named(var)
                .map(|s| s.expose().to_owned())
                .ok_or_else(|| format!("alerts.{key}_env names {var}, which is not set"))?,
            Source::File(file) => {
                let path = crate::paths::expand_home(file, env.home.as_deref());
                let bytes = if locked && !configured.from_user {
                    crate::files::read_capped(&path, 64 << 10)
                        .and_then(|b| b.ok_or_else(|| std::io::Error::other("too large")))
                } else {
                    crate::files::read_regular(&path, 64 << 10)
                };
                let bytes =
                    bytes.map_err(|err| format!("could not read alerts.{key}_file `{}`: {err}", path.display()))?;
                String::from_utf8_lossy(&bytes).trim().to_owned()
            }
        };
        if !(value.starts_with("http://") || value.starts_with("https://")) {
            return Err(format!("the {key} is not an http:// or https:// URL"));
        }
        Ok(value)
    };
    Ok(match &configured.channel {
        Channel::Webhook(source) => Target::Webhook(url("webhook_url", source)?),
        Channel::Ntfy(source) => Target::Ntfy(url("ntfy_url", source)?),
        Channel::Desktop => Target::Desktop,
        Channel::Command(words) => Target::Command(words.iter().map(|w| expand(w, env)).collect()),
    })
}

fn expand(word: &str, env: &Env) -> String {
    crate::paths::expand_home(&PathBuf::from(word), env.home.as_deref()).display().to_string()
}

/// One alert to one destination.
fn send(target: &Target, alert: &Alert, locked: bool, timeout: Duration) -> Result<(), String> {
    match target {
        Target::Webhook(url) => {
            let body = serde_json::to_vec(&format::webhook_body(alert)).expect("a webhook body serialises");
            post(url, &[("Content-Type", "application/json")], &body, timeout)
        }
        Target::Ntfy(url) => {
            let (body, headers) = format::ntfy(alert);
            let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post(url, &headers, body.as_bytes(), timeout)
        }
        Target::Desktop => {
            let (program, args) = format::desktop(alert, cfg!(target_os = "macos"));
            let hint = if program == "notify-send" { " (Debian: apt install libnotify-bin)" } else { "" };
            run(program, &args, None, locked, timeout).map_err(|why| format!("{why}{hint}"))
        }
        Target::Command(words) => {
            let json = serde_json::to_vec(alert).expect("an alert serialises");
            run(&words[0], &words[1..], Some(&json), locked, timeout)
        }
    }
}

fn post(url: &str, headers: &[(&str, &str)], body: &[u8], timeout: Duration) -> Result<(), String> {
    let reply = crate::net::Http::new(timeout)
        .post(url, headers, body, 64 << 10)
        .map_err(|err| scrub(&crate::error::report(&err), url))?;
    if (200..300).contains(&reply.status) {
        Ok(())
    } else {
        Err(format!("{} answered HTTP {}", redact_url(url), reply.status))
    }
}

/// `text` without `url` or its path (an error's text may quote the URL, tokens included).
fn scrub(text: &str, url: &str) -> String {
    let redacted = redact_url(url);
    let mut out = text.replace(url, &redacted);
    if let Some((_, rest)) = url.split_once("://")
        && let Some(i) = rest.find(['/', '?'])
        && i + 1 < rest.len()
    {
        out = out.replace(&rest[i..], "/…");
    }
    out
}

/// Runs `program args` with `stdin` (or none), waits at most `timeout`, and fails on a non-zero exit with the end of
/// its standard error. In locked mode it runs without ccbreaker's group (the real group of the user).
fn run(program: &str, args: &[String], stdin: Option<&[u8]>, locked: bool, timeout: Duration) -> Result<(), String> {
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    #[cfg(unix)]
    if locked {
        std::os::unix::process::CommandExt::gid(&mut command, rustix::process::getgid().as_raw());
    }
    #[cfg(not(unix))]
    let _ = locked;
    let mut child = command.spawn().map_err(|err| match err.kind() {
        std::io::ErrorKind::NotFound => format!("`{program}` was not found"),
        _ => format!("could not run `{program}`: {err}"),
    })?;
    if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
        let bytes = bytes.to_vec();
        // On a thread: a program that reads nothing must not block the wait below.
        std::thread::spawn(move || {
            let _ = pipe.write_all(&bytes);
        });
    }
    let mut stderr = child.stderr.take();
    let reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        if let Some(pipe) = stderr.as_mut() {
            let _ = pipe.take(64 << 10).read_to_end(&mut text);
        }
        text
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("`{program}` did not finish within {} s", timeout.as_secs()));
            }
            Err(err) => return Err(format!("could not wait for `{program}`: {err}")),
        }
    };
    if status.success() {
        return Ok(());
    }
    let text = reader.join().unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let last = text.trim().lines().last().unwrap_or("").chars().take(200).collect::<String>();
    let code = status.code().map_or_else(|| "a signal".to_owned(), |c| c.to_string());
    Err(if last.is_empty() {
        format!("`{program}` exited with {code}")
    } else {
        format!("`{program}` exited with {code}: {last}")
    })
}

/// This machine's name, for the alert's text.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_never_quotes_the_url_s_secret_part() {
        let url = "https://hooks.example.com/services/T000/B000/XXXXSECRET";
        let text = format!("http: Connection refused for {url}");
        assert_eq!(scrub(&text, url), "http: Connection refused for https://hooks.example.com/…");
        assert_eq!(scrub("GET /services/T000/B000/XXXXSECRET failed", url), "GET /… failed");
    }

    #[test]
    fn locked_mode_reads_no_secret_of_the_root_from_the_environment() {
        let root = Configured { channel: Channel::Webhook(Source::Env("HOOK".into())), from_user: false };
        let err = resolve(&root, &Env::default(), true).unwrap_err();
        assert!(err.contains("ignored in locked mode"), "{err}");
        let err = resolve(&root, &Env::default(), false).unwrap_err();
        assert_eq!(err, "alerts.webhook_url_env names HOOK, which is not set");
    }
}
