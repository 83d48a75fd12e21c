//! `ccbreaker dashboard [--port N]`: the live view as a local web page. It listens on 127.0.0.1 only and answers
//! only requests that carry the random token of the URL it prints (compared in constant time; anything else gets
//! 403), so no other local user can read the spend. The page is one self-contained document (no external script,
//! font or CDN): the panels of `watch`, the report views with charts, and the audit's findings. It is pushed every
//! change by server-sent events from the same refresh loop as `watch` (see [`super::live`]); the page never polls.
//! It runs in `ccbreaker-net`, so the hook's binary links no HTTP server.

use super::Io;
use super::args::Args;
use super::live::{Live, TICK};
use crate::error::Error;
use crate::report::Kind;
use crate::sync::Scan;
use std::io::{Read, Write};
use std::sync::Mutex;

/// The page; `{{NONCE}}` becomes the nonce its Content-Security-Policy allows.
const PAGE: &str = include_str!("dashboard.html");
/// A comment on every event stream this often, so that a closed page is noticed and dropped.
const KEEPALIVE: std::time::Duration = std::time::Duration::from_secs(15);

type Client = Box<dyn Write + Send>;

/// What the HTTP thread serves and the refresh loop updates.
#[derive(Default)]
struct Shared {
    /// The last frame and reports, as JSON (sent first to each new page).
    frame: String,
    reports: String,
    /// The open event streams.
    clients: Vec<Client>,
}

impl Shared {
    /// Sends one event to every open stream, dropping those that are closed.
    fn publish(&mut self, event: &str, data: &str) {
        let message = sse(event, data);
        self.clients.retain_mut(|c| c.write_all(message.as_bytes()).and_then(|()| c.flush()).is_ok());
    }
}

/// One server-sent event (a JSON `data` is one line).
fn sse(event: &str, data: &str) -> String {
    format!("event: {event}\ndata: {data}\n\n")
}

pub(super) fn dashboard(mut args: Args, io: &mut Io) -> Result<u8, Error> {
    let port = match args.value("--port")? {
        None => 0,
        Some(p) => p.parse::<u16>().map_err(|_| Error::usage(format!("`--port` must be a port number, got {p:?}")))?,
    };
    args.finish()?;
    let place = super::place(io, "dashboard")?;
    let config = super::config(&place, io)?;
    let (prices, _) = crate::sync::prices(&config, &place.config_path, &place.prices_dir())?;
    let token = random_hex().map_err(Error::file("read", "/dev/urandom"))?;
    let server = tiny_http::Server::http(("127.0.0.1", port))
        .map_err(|e| Error::Failed(format!("could not listen on 127.0.0.1:{port}: {e}")))?;
    let bound = server.server_addr().to_ip().map_or(port, |a| a.port());
    let nonce = random_hex().map_err(Error::file("read", "/dev/urandom"))?;
    let mut live = Live::new(&config, &place);
    let shared = Mutex::new(Shared::default());
    let now = super::now(&place.env)?;
    let frame = live.frame(io, Scan::Now)?;
    let mut reports_of = live.gathered_at();
    {
        let mut shared = shared.lock().expect("the dashboard's state");
        shared.frame = serde_json::to_string(&frame).expect("a frame serialises");
        shared.reports = reports_json(&mut live, &prices, now)?;
    }
    writeln!(
        io.stdout,
        "ccbreaker dashboard: http://127.0.0.1:{bound}/?token={token}\n(only this URL is answered; Ctrl-C stops it)"
    )?;
    let audit = || audit_json(&config, &place, &prices);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for request in server.incoming_requests() {
                answer(request, &token, &nonce[..16], &shared, &audit);
            }
        });
        let mut quiet = std::time::Instant::now();
        let result = (|| -> Result<u8, Error> {
            loop {
                std::thread::sleep(TICK);
                if let Some(scan) = live.changed() {
                    let frame = serde_json::to_string(&live.frame(io, scan)?).expect("a frame serialises");
                    let mut shared = shared.lock().expect("the dashboard's state");
                    shared.publish("frame", &frame);
                    shared.frame = frame;
                    quiet = std::time::Instant::now();
                } else if quiet.elapsed() >= KEEPALIVE {
                    let mut shared = shared.lock().expect("the dashboard's state");
                    shared.clients.retain_mut(|c| c.write_all(b": keepalive\n\n").and_then(|()| c.flush()).is_ok());
                    quiet = std::time::Instant::now();
                }
                if reports_of != live.gathered_at() {
                    reports_of = live.gathered_at();
                    let reports = reports_json(&mut live, &prices, super::now(&place.env)?)?;
                    let mut shared = shared.lock().expect("the dashboard's state");
                    shared.publish("reports", &reports);
                    shared.reports = reports;
                }
            }
        })();
        // The HTTP thread ends when the server stops taking requests.
        server.unblock();
        result
    })
}

/// 32 random bytes as hex.
fn random_hex() -> std::io::Result<String> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Whether `given` is `token`, in time that does not depend on where they differ.
fn same(given: &str, token: &str) -> bool {
    given.len() == token.len() && given.bytes().zip(token.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// The value of `name` in the query of `url`.
fn query<'u>(url: &'u str, name: &str) -> Option<&'u str> {
    url.split_once('?')?.1.split('&').find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

fn header(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("a valid header")
}

fn answer(request: tiny_http::Request, token: &str, nonce: &str, shared: &Mutex<Shared>, audit: &dyn Fn() -> String) {
    let url = request.url().to_owned();
    let path = url.split_once('?').map_or(url.as_str(), |(p, _)| p);
    let text = |code: u16, body: &str| {
        tiny_http::Response::from_string(body)
            .with_status_code(code)
            .with_header(header("Content-Type", "text/plain; charset=utf-8"))
    };
    if !query(&url, "token").is_some_and(|given| same(given, token)) {
        let _ = request.respond(text(403, "forbidden: open the URL `ccbreaker dashboard` printed, with its token\n"));
        return;
    }
    let json = |body: String| {
        tiny_http::Response::from_string(body)
            .with_header(header("Content-Type", "application/json"))
            .with_header(header("Cache-Control", "no-store"))
    };
    let _ = match path {
        "/" => {
            let page = PAGE.replace("{{NONCE}}", nonce);
            let policy = format!(
                "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; connect-src 'self'; \
                 img-src data:; base-uri 'none'; form-action 'none'"
            );
            request.respond(
                tiny_http::Response::from_string(page)
                    .with_header(header("Content-Type", "text/html; charset=utf-8"))
                    .with_header(header("Content-Security-Policy", &policy))
                    .with_header(header("Referrer-Policy", "no-referrer"))
                    .with_header(header("Cache-Control", "no-store")),
            )
        }
        "/events" => {
            let mut writer = request.into_writer();
            let mut shared = shared.lock().expect("the dashboard's state");
            let head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n\
                        Connection: keep-alive\r\n\r\n";
            let first = format!("{head}{}{}", sse("frame", &shared.frame), sse("reports", &shared.reports));
            if writer.write_all(first.as_bytes()).and_then(|()| writer.flush()).is_ok() {
                shared.clients.push(writer);
            }
            Ok(())
        }
        "/api/frame" => {
            let frame = shared.lock().expect("the dashboard's state").frame.clone();
            request.respond(json(frame))
        }
        "/api/audit" => request.respond(json(audit())),
        _ => request.respond(text(404, "not found\n")),
    };
}

/// The five report views over every transcript, as `report --json` prints each.
fn reports_json(
    live: &mut Live,
    prices: &crate::pricing::PriceTable,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<String, Error> {
    let guessed = |model: &str| prices.priced_as(model);
    let mut out = serde_json::Map::new();
    for (name, kind) in [
        ("daily", Kind::Daily),
        ("weekly", Kind::Weekly),
        ("monthly", Kind::Monthly),
        ("session", Kind::Session),
        ("blocks", Kind::Blocks),
    ] {
        let report = live.report(kind, now)?;
        out.insert(name.to_owned(), crate::report::render::json(&report, &guessed));
    }
    Ok(serde_json::Value::Object(out).to_string())
}

/// `ccbreaker audit --json` over every transcript (gathered when the page asks: it reads every file).
fn audit_json(
    config: &crate::config::Config,
    place: &crate::place::Place,
    prices: &crate::pricing::PriceTable,
) -> String {
    let roots = crate::paths::transcript_roots(&place.env, &config.transcripts.extra_roots);
    let cache = place.state_dir.join(crate::report::cache::FILE_NAME);
    let sources = crate::report::collect::Sources { roots: &roots, prices, cache: Some(&cache) };
    let options = crate::findings::Options {
        zone: config.budget.timezone,
        since: None,
        until: None,
        session: None,
        project: None,
    };
    let gathered = crate::findings::gather::gather(&sources, &|file| options.wants(file));
    let audit = crate::findings::analyze(&gathered, prices, &options);
    crate::findings::json::json(&audit).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_must_match_whole() {
        let token = "ab".repeat(32);
        assert!(same(&token, &token));
        assert!(!same(&token[..63], &token));
        assert!(!same(&format!("{token}0"), &token));
        assert!(!same(&"ab".repeat(31).chars().chain("aa".chars()).collect::<String>(), &token));
        assert!(!same("", &token));
    }

    #[test]
    fn the_token_is_read_from_the_query_only() {
        assert_eq!(query("/events?token=abc", "token"), Some("abc"));
        assert_eq!(query("/?x=1&token=abc&y=2", "token"), Some("abc"));
        assert_eq!(query("/?tokens=abc", "token"), None);
        assert_eq!(query("/token=abc", "token"), None);
        assert_eq!(query("/?token=", "token"), Some(""));
    }

    #[test]
    fn each_event_is_one_block_of_lines() {
        assert_eq!(sse("frame", "{\"a\":1}"), "event: frame\ndata: {\"a\":1}\n\n");
        let token = random_hex().unwrap();
        assert_eq!(token.len(), 64);
        assert_ne!(token, random_hex().unwrap());
    }
}
