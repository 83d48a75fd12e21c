//! `ccbreaker prices list|update`: a LiteLLM table read from a file and from a URL (a local HTTP server on
//! 127.0.0.1, started and stopped by the test; `ccbreaker` runs `ccbreaker-net` for it), checked against the prices
//! in force, refused inside Claude Code.

use crate::harness::Sandbox;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

fn table() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pricing/litellm-anthropic.json")
}

/// Serves `body` to one HTTP request on 127.0.0.1, on a thread; returns the URL.
fn serve_once(body: Vec<u8>) -> (String, std::thread::JoinHandle<()>) {
    serve("200 OK", body)
}

/// Answers one HTTP request on 127.0.0.1 with `status` and an empty body.
fn serve_status(status: u16) -> (String, std::thread::JoinHandle<()>) {
    serve(&format!("{status} Nope"), Vec::new())
}

fn serve(status: &str, body: Vec<u8>) -> (String, std::thread::JoinHandle<()>) {
    let status = status.to_owned();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/model_prices_and_context_window.json", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        while reader.read_line(&mut line).unwrap() > 2 {
            line.clear();
        }
        let mut stream = stream;
        let head =
            format!("HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n", body.len());
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(&body).unwrap();
    });
    (url, server)
}

#[test]
fn an_update_from_a_url_is_stored_and_listed_with_its_source() {
    let sb = Sandbox::new("prices-url");
    let text = std::fs::read_to_string(table()).unwrap();
    let dearer = text.replacen("\"output_cost_per_token\": 1e-05", "\"output_cost_per_token\": 1.2e-05", 1);
    let (url, server) = serve_once(dearer.into_bytes());
    // `ccbreaker` reads no network itself: it runs `ccbreaker-net` from beside it, which does.
    let out = sb.run(&["prices", "update", "--from", &url], b"");
    server.join().unwrap();
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("wrote"), "{}", out.stdout);
    let list = sb.run(&["prices", "list", "--json"], b"").json();
    assert_eq!(list["updated"]["source"], url.as_str());
    let models = list["models"].as_array().unwrap();
    let row = |name: &str| models.iter().find(|m| m["model"] == name).cloned().unwrap();
    assert_eq!(row("claude-sonnet-5")["source"], "prices update");
    assert_eq!(row("claude-3-opus-20240229")["source"], "built-in (retired upstream)");
    let text = sb.run(&["prices", "list"], b"").stdout;
    assert!(text.contains(&format!("updated from {url}")), "{text}");
    // A server that answers with an error writes nothing.
    let (url, server) = serve_status(404);
    let out = sb.run(&["prices", "update", "--from", &url], b"");
    server.join().unwrap();
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stderr.contains("the server answered HTTP 404"), "{}", out.stderr);
}

#[test]
fn a_table_that_halves_a_price_or_drops_a_model_needs_force() {
    let sb = Sandbox::new("prices-guard");
    let text = std::fs::read_to_string(table()).unwrap();
    let cheap = sb.root.join("cheap.json");
    std::fs::write(&cheap, text.replacen("\"output_cost_per_token\": 2.5e-05", "\"output_cost_per_token\": 1e-06", 1))
        .unwrap();
    let out = sb.run(&["prices", "update", "--from", cheap.to_str().unwrap()], b"");
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stdout.contains("drop: "), "{}", out.stdout);
    assert!(out.stderr.contains("nothing was written. If it is right, run again with --force"), "{}", out.stderr);
    assert!(!sb.state.join("prices.bin").exists());
    let forced = sb.run(&["prices", "update", "--from", cheap.to_str().unwrap(), "--force"], b"");
    assert_eq!(forced.code, 0, "{}", forced.stderr);
    assert!(sb.state.join("prices.bin").exists());
    // A damaged table is ignored (the built-in prices apply) and said.
    std::fs::write(sb.state.join("prices.bin"), b"garbage").unwrap();
    let list = sb.run(&["prices", "list", "--json"], b"").json();
    assert!(list["note"].as_str().unwrap().contains("is not a ccbreaker price table"), "{list}");
    let again = sb.run(&["prices", "update", "--from", table().to_str().unwrap()], b"");
    assert_eq!(again.code, 0, "a damaged table is replaced: {}", again.stderr);
    let missing = sb.run(&["prices", "update", "--from", "/nonexistent/table.json"], b"");
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("could not read the price table from /nonexistent/table.json"),
        "{}",
        missing.stderr
    );
}

#[test]
fn the_network_binary_runs_only_the_commands_that_need_it() {
    let sb = Sandbox::new("net-only");
    let out = crate::harness::run(sb.command_of(env!("CARGO_BIN_EXE_ccbreaker-net"), &["hook"]), b"{}");
    assert_eq!(out.code, 64, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "`ccbreaker-net` runs `reconcile`, `prices update`, `alert`, `digest --send`, `watch` and `dashboard`, not `hook`"
        ),
        "{}",
        out.stderr
    );
}

/// The HTTP and TLS code, the terminal UI and the web server live in `ccbreaker-net` only: linked into `ccbreaker`,
/// the HTTP client slowed every hook call's start-up (BENCHMARKS.md). Where `nm` is missing, there is nothing to
/// check.
#[test]
fn the_hooks_binary_links_no_http_tls_or_terminal_ui_code() {
    let symbols = |bin: &str, name: &str| {
        let out = std::process::Command::new("nm").arg(bin).output().ok().filter(|o| o.status.success())?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        Some(text.lines().filter(|l| l.contains(name)).count())
    };
    for name in ["ureq", "rustls", "ratatui", "crossterm", "tiny_http"] {
        let (Some(hook), Some(net)) =
            (symbols(crate::harness::BIN, name), symbols(env!("CARGO_BIN_EXE_ccbreaker-net"), name))
        else {
            return;
        };
        assert_eq!(hook, 0, "ccbreaker links {name}");
        assert!(net > 0, "ccbreaker-net links {name}, which its commands use");
    }
}

#[test]
fn prices_are_not_updated_from_inside_claude_code() {
    let mut sb = Sandbox::new("prices-inside");
    sb.env("CLAUDECODE", "1");
    let out = sb.run(&["prices", "update", "--from", table().to_str().unwrap()], b"");
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("`prices update` refuses to run inside Claude Code"), "{}", out.stderr);
}
