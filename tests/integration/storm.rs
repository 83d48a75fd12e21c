//! A fan-out storm (issue 18): 300 subagent transcripts of one session growing at once, each subagent's hooks
//! firing in waves as the client fires them, with the subagent caps and a burn-rate breaker set. Every call answers,
//! the spawns past `max_active` are refused exactly, and the session's total is the truth to the pico-dollar.
//! (Its latency under the storm is a benchmark: bench/storm.py.)

use crate::harness::{Output, Sandbox, response, tokens_for_usd};
use serde_json::{Value, json};
use std::sync::Arc;

const AGENTS: usize = 300;
const WAVES: usize = 5;
const THREADS: usize = 12;

fn answer_is_valid(out: &Output) -> bool {
    out.code == 0 && (out.stdout.is_empty() || serde_json::from_str::<Value>(out.stdout.trim()).is_ok())
}

#[test]
fn three_hundred_subagents_at_once_answer_count_exactly_and_hold_the_caps() {
    let sb = Arc::new(Sandbox::new("storm"));
    sb.config(
        "[budget]\nsession_usd = 0\ndaily_usd = 0\n[breaker.subagents]\nmax_active = 8\nmax_per_session = 100000\n\
         [breaker.burn_rate]\nusd = 100000\nminutes = 10\n",
    );
    sb.hook(&sb.event("UserPromptSubmit", "s1"));
    // The fan-out: 40 spawns at once against max_active = 8.
    let spawns: Vec<_> = (0..40)
        .map(|_| {
            let sb = sb.clone();
            std::thread::spawn(move || {
                let mut event = sb.event("PreToolUse", "s1");
                event["tool_name"] = json!("Agent");
                let out = sb.hook(&event);
                assert!(answer_is_valid(&out), "{out:?}");
                out.stdout.is_empty()
            })
        })
        .collect();
    let started = spawns.into_iter().map(|h| h.join().unwrap()).filter(|ok| *ok).count();
    assert_eq!(started, 8, "no spawn past max_active");
    // Waves: in each, every subagent writes one response ($0.01 each: 1,000 output tokens) and fires its hook.
    let truth = tokens_for_usd(0.01) * (AGENTS * WAVES) as u64;
    for wave in 0..WAVES {
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let workers: Vec<_> = (0..THREADS)
            .map(|_| {
                let (sb, next) = (sb.clone(), next.clone());
                std::thread::spawn(move || {
                    let mut bad = Vec::new();
                    loop {
                        let a = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        if a >= AGENTS {
                            return bad;
                        }
                        let id = format!("w{wave}-a{a}");
                        let line = response(&id, tokens_for_usd(0.01)).sidechain().at("2026-11-24T11:59:00Z").json();
                        sb.subagent("s1", &format!("a{a}")).append(&line);
                        let mut event = sb.event("PreToolUse", "s1");
                        event["agent_id"] = json!(format!("a{a}"));
                        event["tool_input"] = json!({"command": format!("step {wave}")});
                        let out = sb.hook(&event);
                        if !answer_is_valid(&out) || !out.stdout.is_empty() {
                            bad.push(format!("{id}: {out:?}"));
                        }
                    }
                })
            })
            .collect();
        let bad: Vec<String> = workers.into_iter().flat_map(|h| h.join().unwrap()).collect();
        assert!(bad.is_empty(), "every call answers and allows: {bad:?}");
    }
    // The session's total is every response, counted once.
    let row = sb.session_status("s1");
    assert_eq!(row["output_tokens"].as_u64(), Some(truth), "{row:#}");
    assert_eq!(row["responses"].as_u64(), Some((AGENTS * WAVES) as u64));
}
