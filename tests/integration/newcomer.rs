//! The rough edges a newcomer hits: `allow` on a session it does not know, its grants listed and revoked; a blocked
//! session in `status` with the command that lifts it; tables that fit 80 columns (and `--compact`); `digest`.

use crate::harness::{Sandbox, chain, response};
use serde_json::Value;

#[test]
fn allow_refuses_an_unknown_session_lists_and_revokes_grants() {
    let mut sb = Sandbox::new("allow-edges");
    sb.binary_on_path();
    sb.transcript("s1").lines(&chain("a", 3, 7.0));
    sb.run(&["allow", "--session", "typo"], b"").assert_is(
        1,
        "",
        "ccbreaker: no session `typo` is known: it has spent nothing today or yesterday and holds no grant. Check the \
         id (`ccbreaker status` lists the sessions, the block message names it), or pass --force to grant it anyway\n",
    );
    assert!(!sb.state.join("allowances.json").exists(), "nothing is stored");
    assert_eq!(sb.run(&["allow", "--session", "typo", "--force", "--add-usd", "1"], b"").code, 0);
    assert_eq!(sb.run(&["allow", "--session", "s1", "--add-usd", "5"], b"").code, 0);
    let list = sb.run(&["allow", "--list", "--json"], b"").json();
    let grants: Vec<(String, f64)> = list["grants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["session_id"].as_str().unwrap().to_owned(), g["extra_usd"].as_f64().unwrap()))
        .collect();
    assert_eq!(grants, [("s1".to_owned(), 5.0), ("typo".to_owned(), 1.0)]);
    assert_eq!(list["grants"][0]["granted_at"], "2026-11-24T12:00:00Z");
    assert_eq!(
        sb.run(&["allow", "--list"], b"").stdout,
        "s1  +$5.00  (last granted 2026-11-24T12:00:00Z)\ntypo  +$1.00  (last granted 2026-11-24T12:00:00Z)\n"
    );
    let warned = sb.pre_tool_use("s1").json();
    assert_eq!(warned["systemMessage"], "ccbreaker: this session has spent $21.00 of its $25.00 budget (84%).");
    sb.run(&["allow", "--revoke", "s1"], b"").assert_is(
        0,
        "ccbreaker: session s1's grants ($5.00) are taken back; its budgets are as configured again\n",
        "",
    );
    assert_eq!(sb.pre_tool_use("s1").json()["continue"], false, "blocked again");
    assert_eq!(sb.run(&["allow", "--revoke", "s1"], b"").code, 1);
    let kinds: Vec<String> = sb
        .run(&["log", "--json"], b"")
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds, ["allow", "allow", "revoke", "block"]);
    let mut inside = Sandbox::new("allow-revoke-inside");
    inside.env("CLAUDECODE", "1");
    assert!(inside.run(&["allow", "--revoke", "s1"], b"").stderr.contains("refuses to run inside Claude Code"));
}

#[test]
fn status_shows_the_command_that_lifts_a_block_and_fits_80_columns() {
    let mut sb = Sandbox::new("status-lift");
    sb.binary_on_path();
    let id = "0f8fad5b-d9cb-469f-a165-70867728950e";
    sb.transcript(id).lines(&chain("a", 3, 7.0));
    sb.pre_tool_use(id);
    let json = sb.status();
    assert_eq!(json["sessions"][0]["lift"], format!("ccbreaker allow --session {id} --add-usd 20"));
    assert_eq!(json["sessions"][0]["last_activity"], "2026-11-24T10:00:00Z");
    let wide = sb.run(&["status"], b"").stdout;
    assert!(
        wide.contains(&format!(
            "\nblocked {id}: to let it go on, run `ccbreaker allow --session {id} --add-usd 20` in a terminal\n"
        )),
        "{wide}"
    );
    sb.env("COLUMNS", "45");
    let narrow = sb.run(&["status"], b"").stdout;
    let table: Vec<&str> = narrow.lines().skip_while(|l| !l.starts_with("session")).take(3).collect();
    assert_eq!(
        table,
        [
            "session         spent  state    project",
            "---------------------------------------",
            "0f8fad5b-d9c…  $21.00  blocked  -work-proj"
        ],
        "{narrow}"
    );
    assert!(
        narrow.contains("(to fit 45 columns: today, gates left out; session shortened; --json has every field)"),
        "{narrow}"
    );
    let compact = Sandbox::new("status-compact");
    compact.transcript(id).lines(&chain("a", 1, 1.0));
    assert!(
        compact
            .run(&["status", "--compact"], b"")
            .stdout
            .contains("(--compact: today, gates left out; session shortened;")
    );
}

#[test]
fn the_session_report_fits_80_columns_and_json_is_unchanged() {
    let mut sb = Sandbox::new("report-80");
    let id = "0f8fad5b-d9cb-469f-a165-70867728950e";
    sb.transcript(id).append(&response("r1", 1234).model("claude-opus-4-5-20251101").json());
    let wide = sb.run(&["report", "session"], b"").stdout;
    assert!(wide.lines().any(|l| l.chars().count() > 80), "{wide}");
    let json = sb.report(&["session"]);
    sb.env("COLUMNS", "80");
    let out = sb.run(&["report", "session"], b"");
    for line in out.stdout.lines().filter(|l| !l.starts_with('(')) {
        assert!(line.chars().count() <= 80, "{line:?}\n{}", out.stdout);
    }
    assert!(
        out.stdout
            .contains("(to fit 80 columns: Cache write, Cache read, Input, Subagents left out; Session shortened;"),
        "{}",
        out.stdout
    );
    assert_eq!(sb.report(&["session"]), json, "--json is the same at any width");
    let daily = sb.run(&["report", "daily", "--compact"], b"").stdout;
    assert!(daily.contains("Date        Output   Cost  Models\n"), "{daily}");
}

#[test]
fn the_digest_is_the_week_in_a_few_lines() {
    let sb = Sandbox::new("digest");
    let day = |date: &str, prefix: &str, usd: f64| -> Vec<String> {
        chain(prefix, 1, usd).into_iter().map(|l| l.replace("2026-11-24T10:00", &format!("{date}T10:00"))).collect()
    };
    sb.transcript("monday-session").lines(&day("2026-11-23", "m", 4.0));
    sb.transcript("today-session").lines(&day("2026-11-24", "t", 1.5));
    let other = sb.home.join(".claude/projects/-home-me-web/web-session.jsonl");
    std::fs::create_dir_all(other.parent().unwrap()).unwrap();
    std::fs::write(&other, day("2026-11-20", "w", 2.0).join("\n") + "\n").unwrap();
    // Before the week: not counted.
    sb.transcript("old-session").lines(&day("2026-11-10", "o", 9.0));
    sb.transcript("today-session").lines(&chain("more", 2, 10.0));
    assert_eq!(sb.pre_tool_use("today-session").json()["continue"], false);
    let out = sb.run(&["digest"], b"");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "ccbreaker digest 2026-11-18..2026-11-24 (UTC): $27.50 over 3 session(s)\n\
         \x20 per day: 11-20 $2.00, 11-23 $4.00, 11-24 $21.50\n\
         \x20 top sessions: today-se $21.50 (-work-proj), monday-s $4.00 (-work-proj), web-sess $2.00 (-home-me-web)\n\
         \x20 top projects: -work-proj $25.50, -home-me-web $2.00\n\
         \x20 most expensive model: claude-sonnet-5 $27.50 (100%)\n\
         \x20 blocks: 1 (1 session(s)); tool calls refused as tampering: 0\n\
         \x20 where it went: ccbreaker audit --since 2026-11-18 --until 2026-11-24\n"
    );
    let json: Value = sb.run(&["digest", "--since", "2d", "--json"], b"").json();
    assert_eq!((json["first"].as_str(), json["total_usd"].as_f64()), (Some("2026-11-23"), Some(25.5)));
    assert_eq!(sb.run(&["digest", "--since", "2027-01-01"], b"").code, 64);
    let send = sb.run(&["digest", "--send"], b"");
    assert_eq!(send.code, 1);
    assert!(send.stderr.contains("no alert channel is configured to send the digest to"), "{}", send.stderr);
}
