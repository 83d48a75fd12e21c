//! The transcript lags the hook: at PreToolUse the response that issued the call is usually still being
//! written. Near a budget the hook waits for it (and only there), so the response that crosses the budget is
//! the last one paid for.

use crate::harness::{Sandbox, chain, response, tokens_for_usd};
use serde_json::json;
use std::time::Duration;

fn pre_tool_use_of(sb: &Sandbox, tool_use_id: &str) -> serde_json::Value {
    let mut event = sb.event("PreToolUse", "s1");
    event["tool_use_id"] = json!(tool_use_id);
    event
}

fn last_wait_us(sb: &Sandbox) -> u64 {
    sb.status()["last_hook"]["wait_us"].as_u64().unwrap()
}

#[test]
fn near_the_budget_the_hook_waits_for_the_response_that_issued_the_call() {
    let sb = Sandbox::new("lag-wait");
    let t = sb.transcript("s1");
    t.lines(&chain("a", 1, 15.0)); // $15 of $20: the next response may cross
    let path = t.path.clone();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(150));
        let line = response("next", tokens_for_usd(6.0)).tool_use("toolu_next").parent("uuid-a-0").json();
        crate::harness::Transcript { path }.append(&line);
    });
    let out = sb.hook(&pre_tool_use_of(&sb, "toolu_next"));
    writer.join().unwrap();
    assert_eq!(out.json()["continue"], false, "the crossing response was counted before answering");
    assert!(last_wait_us(&sb) > 0);
}

#[test]
fn far_from_every_budget_the_hook_never_waits() {
    let sb = Sandbox::new("lag-far");
    sb.transcript("s1").lines(&chain("a", 1, 1.0));
    sb.hook(&pre_tool_use_of(&sb, "toolu_never")).assert_silent_allow();
    assert_eq!(last_wait_us(&sb), 0);
}

#[test]
fn the_wait_ends_at_its_deadline() {
    let sb = Sandbox::new("lag-deadline");
    sb.config("[policy]\nwait_ms = 100\n");
    sb.transcript("s1").lines(&chain("a", 1, 12.0)); // $12 + up to $12 more reaches $20
    sb.hook(&pre_tool_use_of(&sb, "toolu_never")).assert_silent_allow();
    assert!(last_wait_us(&sb) > 0);
    // Once the call's own response is on disk, there is nothing to wait for.
    let line = response("b", tokens_for_usd(1.0)).tool_use("toolu_seen").parent("uuid-a-0").json();
    sb.transcript("s1").append(&line);
    sb.hook(&pre_tool_use_of(&sb, "toolu_seen")).assert_silent_allow();
    assert_eq!(last_wait_us(&sb), 0);
}

#[test]
fn a_spike_larger_than_any_response_before_is_still_waited_for() {
    let sb = Sandbox::new("lag-spike");
    let t = sb.transcript("s1");
    t.lines(&chain("a", 38, 0.5)); // $19 in small steps; the next response could still cross $20
    let path = t.path.clone();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        let line = response("spike", tokens_for_usd(1.2)).tool_use("toolu_spike").parent("uuid-a-37").json();
        crate::harness::Transcript { path }.append(&line);
    });
    let out = sb.hook(&pre_tool_use_of(&sb, "toolu_spike"));
    writer.join().unwrap();
    assert_eq!(out.json()["continue"], false, "the spike that crossed $20 was counted before answering");
}
