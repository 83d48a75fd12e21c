//! Many hook processes at once (Claude Code runs matching hooks in parallel, and sessions run side by side): the
//! ledger must equal the sum of what was written, exactly.

use crate::harness::{Sandbox, response, tokens_for_usd, user_line};
use std::process::Stdio;

/// Starts `n` PreToolUse hooks of `session` at once, on a thread that waits for them all and checks each exited 0.
fn hooks_at_once(sb: &Sandbox, session: &str, n: usize) -> std::thread::JoinHandle<()> {
    let event = sb.event("PreToolUse", session).to_string();
    let children: Vec<_> = (0..n)
        .map(|_| {
            let mut child = sb
                .command(&["hook"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            use std::io::Write;
            child.stdin.take().unwrap().write_all(event.as_bytes()).unwrap();
            child
        })
        .collect();
    std::thread::spawn(move || {
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        }
    })
}

#[test]
fn thirty_two_concurrent_hooks_on_one_session_count_everything_once() {
    let sb = Sandbox::new("concurrent");
    sb.config("[budget]\nsession_usd = 0\ndaily_usd = 0\n");
    let files = [sb.transcript("s1"), sb.subagent("s1", "a1"), sb.subagent("s1", "a2")];
    const RESPONSES: usize = 240;
    let writer = {
        let paths: Vec<_> = files.iter().map(|t| t.path.clone()).collect();
        std::thread::spawn(move || {
            use std::io::Write;
            let mut last_uuid: Vec<Option<String>> = vec![None; paths.len()];
            for i in 0..RESPONSES {
                let f = i % paths.len();
                let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&paths[f]).unwrap();
                let user = format!("u{i}");
                file.write_all(format!("{}\n", user_line(&user, last_uuid[f].as_deref())).as_bytes()).unwrap();
                // Two lines of one response (as Claude Code writes text + tool_use), the second cut in two writes.
                let r = response(&format!("r{i}"), tokens_for_usd(0.25)).parent(&user);
                let first = r.clone().uuid(&format!("b{i}")).json();
                let second = r.clone().parent(&format!("b{i}")).uuid(&format!("c{i}")).json();
                file.write_all(format!("{first}\n").as_bytes()).unwrap();
                let (head, tail) = second.split_at(second.len() / 2);
                file.write_all(head.as_bytes()).unwrap();
                file.flush().unwrap();
                std::thread::sleep(std::time::Duration::from_micros(300));
                file.write_all(format!("{tail}\n").as_bytes()).unwrap();
                last_uuid[f] = Some(format!("c{i}"));
            }
        })
    };
    let waves = hooks_at_once(&sb, "s1", 32);
    writer.join().unwrap();
    waves.join().unwrap();
    let status = sb.session_status("s1");
    assert_eq!(status["responses"], RESPONSES as u64);
    assert_eq!(status["output_tokens"], RESPONSES as u64 * tokens_for_usd(0.25));
    assert_eq!(status["cost_usd"], RESPONSES as f64 * 0.25);
}

/// Issue 16, item 5, under concurrency: a transcript cut to half its bytes while hooks run on it, then grown back
/// with the same content while more hooks run, is counted once: the day equals what was written. Being the hooked
/// session's own transcript, it is also refused as tampered (issue 15).
#[test]
fn a_transcript_cut_to_half_and_restored_under_concurrent_hooks_counts_each_response_once() {
    let sb = Sandbox::new("truncate-concurrent");
    sb.config("[budget]\nsession_usd = 0\ndaily_usd = 0\n");
    let t = sb.transcript("s1");
    let mut lines = Vec::new();
    let mut parent: Option<String> = None;
    for i in 0..40 {
        let user = format!("u{i}");
        lines.push(user_line(&user, parent.as_deref()));
        let r = response(&format!("r{i}"), tokens_for_usd(0.25)).parent(&user);
        parent = Some(r.uuid.clone());
        lines.push(r.json());
    }
    let whole = lines.join("\n") + "\n";
    std::fs::write(&t.path, &whole).unwrap();
    let wave = |n: usize| hooks_at_once(&sb, "s1", n).join().unwrap();
    wave(8);
    std::fs::OpenOptions::new().write(true).open(&t.path).unwrap().set_len(whole.len() as u64 / 2).unwrap();
    wave(8);
    {
        use std::io::{Seek, Write};
        let mut file = std::fs::OpenOptions::new().write(true).open(&t.path).unwrap();
        file.seek(std::io::SeekFrom::Start(whole.len() as u64 / 2)).unwrap();
        file.write_all(&whole.as_bytes()[whole.len() / 2..]).unwrap();
    }
    wave(8);
    let status = sb.status();
    assert_eq!(status["day"]["responses"], 40);
    assert_eq!(status["day"]["cost_usd"], 10.0);
    let s1 = sb.session_status("s1");
    assert_eq!(s1["cost_usd"], 10.0);
    // The hooked session's own transcript shrank under its hooks: issue 15 refuses it as tampered until a person
    // allows it, while the counting stays exact (issue 16).
    assert_eq!(s1["state"], "tampered", "{s1}");
}

/// Hooks and the mod's gate log at once (`CCBREAKER_LOG`): every call is one whole line, never two interleaved.
#[test]
fn calls_at_once_log_one_whole_line_each() {
    let mut sb = Sandbox::new("concurrent-log");
    let log = sb.root.join("calls.log");
    sb.env("CCBREAKER_LOG", log.to_str().unwrap());
    sb.transcript("s1").append(&response("a", 1).json());
    const N: usize = 24;
    let mut waiters = Vec::new();
    for _ in 0..N / 8 {
        waiters.push(hooks_at_once(&sb, "s1", 8));
    }
    for waiter in waiters {
        waiter.join().unwrap();
    }
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), N, "{text}");
    for line in lines {
        let entry: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(entry["event"], "PreToolUse");
    }
}
