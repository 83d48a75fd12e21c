//! The breakers (issue 18) on replayed calls and transcripts: the loop breaker denies the Nth identical call and
//! stops the session at 2N, until a person allows it; the burn-rate breaker stops a session whose spend in the
//! trailing window reaches its line. Each with the same calls or spend without the pattern, which stays allowed.

use crate::harness::{Output, Sandbox, response, tokens_for_usd, user_line};
use serde_json::{Value, json};

fn call(sb: &Sandbox, session: &str, tool: &str, input: Value) -> Output {
    let mut event = sb.event("PreToolUse", session);
    event["tool_name"] = json!(tool);
    event["tool_input"] = input;
    sb.hook(&event)
}

fn deny_only(reason: &str) -> String {
    let answer = json!({"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "deny",
        "permissionDecisionReason": reason}});
    format!("{answer}\n")
}

fn stop(reason: &str) -> String {
    let answer = json!({"continue": false, "stopReason": reason, "hookSpecificOutput": {
        "hookEventName": "PreToolUse", "permissionDecision": "deny", "permissionDecisionReason": reason}});
    format!("{answer}\n")
}

#[test]
fn the_loop_breaker_denies_the_nth_identical_call_and_stops_at_twice_that() {
    let mut sb = Sandbox::new("loop");
    sb.binary_on_path();
    sb.config("[breaker.loop]\nrepeats = 3\n");
    // White space and key order do not make another call.
    let inputs = [
        json!({"command": "cargo test", "timeout": 60}),
        json!({"timeout": 60, "command": "cargo   test"}),
        json!({"command": "cargo test ", "timeout": 60}),
    ];
    call(&sb, "s1", "Bash", inputs[0].clone()).assert_silent_allow();
    call(&sb, "s1", "Bash", inputs[1].clone()).assert_silent_allow();
    let denied = "ccbreaker: loop breaker: this Bash call, with the same input, is the 3rd identical call in 1 \
                  minute(s) with no file written in between, so it is refused. Repeating it will not give another \
                  result: read the last result or error, change the input or the approach, or ask the user. At 6 \
                  such calls ccbreaker stops the session.";
    call(&sb, "s1", "Bash", inputs[2].clone()).assert_is(0, &deny_only(denied), "");
    // Another call goes through; the loop goes on counting.
    call(&sb, "s1", "Read", json!({"file_path": "/x"})).assert_silent_allow();
    call(&sb, "s1", "Bash", inputs[0].clone()).assert_is(0, &deny_only(&denied.replace("3rd", "4th")), "");
    call(&sb, "s1", "Bash", inputs[0].clone()).assert_is(0, &deny_only(&denied.replace("3rd", "5th")), "");
    let stopped = format!(
        "ccbreaker: loop breaker: this Bash call, with the same input, is the 6th identical call in 1 minute(s) with \
         no file written in between, so the session is stopped (6 such calls; breaker.loop.repeats is 3). To go on, \
         run `ccbreaker allow --session s1 --add-usd 0` in a terminal, or raise breaker.loop.repeats in {}.",
        sb.config.display()
    );
    call(&sb, "s1", "Bash", inputs[0].clone()).assert_is(0, &stop(&stopped), "");
    // Stopped: any call is refused with the same words, until a person allows the session.
    call(&sb, "s1", "Read", json!({"file_path": "/y"})).assert_is(0, &stop(&stopped), "");
    assert_eq!(sb.run(&["allow", "--session", "s1", "--add-usd", "0", "--force"], b"").code, 0);
    call(&sb, "s1", "Bash", inputs[0].clone()).assert_silent_allow();
}

#[test]
fn a_file_written_in_between_or_another_thread_is_no_loop() {
    let sb = Sandbox::new("loop-not");
    sb.config("[breaker.loop]\nrepeats = 3\n");
    for i in 0..5 {
        call(&sb, "s1", "Bash", json!({"command": "cargo test"})).assert_silent_allow();
        call(&sb, "s1", "Edit", json!({"file_path": "/src/lib.rs", "old_string": format!("{i}")}))
            .assert_silent_allow();
    }
    // Without the breaker, the same calls are never refused.
    let sb = Sandbox::new("loop-off");
    for _ in 0..8 {
        call(&sb, "s1", "Bash", json!({"command": "cargo test"})).assert_silent_allow();
    }
}

#[test]
fn a_ping_pong_is_refused_at_its_third_round() {
    let sb = Sandbox::new("loop-ping-pong");
    sb.config("[breaker.loop]\n");
    let (a, b) = (json!({"command": "git stash"}), json!({"command": "git stash pop"}));
    for _ in 0..2 {
        call(&sb, "s1", "Bash", a.clone()).assert_silent_allow();
        call(&sb, "s1", "Bash", b.clone()).assert_silent_allow();
    }
    call(&sb, "s1", "Bash", a.clone()).assert_silent_allow();
    let out = call(&sb, "s1", "Bash", b.clone());
    let reason = out.json()["hookSpecificOutput"]["permissionDecisionReason"].as_str().unwrap().to_owned();
    assert!(
        reason.starts_with("ccbreaker: loop breaker: this Bash call is the 6th of two calls alternating"),
        "{reason}"
    );
    assert!(out.json().get("continue").is_none(), "denied, not stopped: {}", out.stdout);
}

/// Responses of `usd` each at the given times, as one session writes them.
fn spend(prefix: &str, at: &[(&str, f64)]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut parent: Option<String> = None;
    for (i, (time, usd)) in at.iter().enumerate() {
        let user = format!("{prefix}-user-{i}");
        lines.push(user_line(&user, parent.as_deref()));
        let r = response(&format!("{prefix}-{i}"), tokens_for_usd(*usd)).parent(&user).at(time);
        parent = Some(r.uuid.clone());
        lines.push(r.json());
    }
    lines
}

#[test]
fn the_burn_rate_breaker_stops_spend_that_comes_too_fast() {
    let mut sb = Sandbox::new("burn");
    sb.binary_on_path();
    sb.config("[budget]\nsession_usd = 0\ndaily_usd = 0\n[breaker.burn_rate]\nusd = 5\nminutes = 10\n");
    let s1 = sb.transcript("s1");
    s1.lines(&spend(
        "a",
        &[("2026-11-24T11:40:00Z", 9.0), ("2026-11-24T11:52:00Z", 2.0), ("2026-11-24T11:55:00Z", 2.0)],
    ));
    sb.pre_tool_use("s1").assert_silent_allow();
    s1.lines(&spend("b", &[("2026-11-24T11:59:00Z", 1.0)]));
    let reason = format!(
        "ccbreaker: burn-rate breaker reached: $5.00 spent in the last 10 minutes by this session of a $5.00 \
         burn-rate breaker (breaker.burn_rate.usd). It resets once the last 10 minutes hold less; to go on now, run \
         `ccbreaker allow --session s1 --add-usd 10` in a terminal, or raise breaker.burn_rate.usd in {}.",
        sb.config.display()
    );
    sb.pre_tool_use("s1").assert_is(0, &stop(&reason), "");
    // Across all sessions: another session's spend in the window stops this one too.
    let sb = Sandbox::new("burn-all");
    sb.config("[budget]\nsession_usd = 0\ndaily_usd = 0\n[breaker.burn_rate]\nusd = 5\nminutes = 10\n");
    sb.transcript("other").lines(&spend("o", &[("2026-11-24T11:58:00Z", 4.5)]));
    sb.transcript("s1").lines(&spend("a", &[("2026-11-24T11:59:00Z", 0.5)]));
    let reason = sb.pre_tool_use("s1").json()["stopReason"].as_str().unwrap().to_owned();
    assert!(reason.contains("$5.00 spent in the last 10 minutes across all sessions"), "{reason}");
}

#[test]
fn the_same_spend_spread_out_stays_allowed() {
    let sb = Sandbox::new("burn-slow");
    sb.config("[budget]\nsession_usd = 0\ndaily_usd = 0\n[breaker.burn_rate]\nusd = 5\nminutes = 10\n");
    sb.transcript("s1").lines(&spend(
        "a",
        &[("2026-11-24T11:20:00Z", 2.0), ("2026-11-24T11:35:00Z", 2.0), ("2026-11-24T11:55:00Z", 1.5)],
    ));
    sb.pre_tool_use("s1").assert_silent_allow();
}

fn spawn(sb: &Sandbox, session: &str, agent: Option<&str>) -> Output {
    let mut event = sb.event("PreToolUse", session);
    event["tool_name"] = json!("Agent");
    event["tool_input"] = json!({"description": "look", "prompt": "look around", "subagent_type": "general-purpose"});
    if let Some(agent) = agent {
        event["agent_id"] = json!(agent);
    }
    sb.hook(&event)
}

fn refused(out: &Output) -> Option<String> {
    let answer = out.stdout.trim();
    if answer.is_empty() {
        return None;
    }
    let json: Value = serde_json::from_str(answer).unwrap();
    assert!(json.get("continue").is_none(), "a refused spawn does not stop the session: {answer}");
    json["hookSpecificOutput"]["permissionDecisionReason"].as_str().map(str::to_owned)
}

#[test]
fn spawns_past_max_active_are_refused_until_one_ends() {
    let sb = Sandbox::new("spawn-active");
    sb.config("[breaker.subagents]\nmax_active = 2\n");
    assert_eq!(refused(&spawn(&sb, "s1", None)), None);
    assert_eq!(refused(&spawn(&sb, "s1", None)), None);
    assert_eq!(
        refused(&spawn(&sb, "s1", None)).as_deref(),
        Some(
            "ccbreaker: subagent cap: 2 subagents are running (breaker.subagents.max_active is 2), so this Agent call is \
             refused. Do the work in this conversation, or wait for a running subagent to finish."
        )
    );
    // The first subagent's own call names it; its SubagentStop ends it, and a place is free again.
    let mut own = sb.event("PreToolUse", "s1");
    own["agent_id"] = json!("agent-1");
    sb.hook(&own).assert_silent_allow();
    let mut stop = sb.event("SubagentStop", "s1");
    stop["agent_id"] = json!("agent-1");
    sb.hook(&stop);
    assert_eq!(refused(&spawn(&sb, "s1", None)), None);
    assert!(refused(&spawn(&sb, "s1", None)).is_some());
    // Without the caps, nothing is refused.
    let sb = Sandbox::new("spawn-off");
    for _ in 0..12 {
        assert_eq!(refused(&spawn(&sb, "s1", None)), None);
    }
}

#[test]
fn depth_and_the_session_total_are_capped() {
    let sb = Sandbox::new("spawn-depth");
    sb.config("[breaker.subagents]\nmax_depth = 1\nmax_per_session = 3\n");
    assert_eq!(refused(&spawn(&sb, "s1", None)), None);
    let reason = refused(&spawn(&sb, "s1", Some("agent-1"))).unwrap();
    assert!(reason.contains("it would start a subagent at depth 2 (breaker.subagents.max_depth is 1)"), "{reason}");
    for i in 0..2 {
        let mut stop = sb.event("SubagentStop", "s1");
        stop["agent_id"] = json!(format!("agent-{i}"));
        sb.hook(&stop);
        assert_eq!(refused(&spawn(&sb, "s1", None)), None);
    }
    let mut stop = sb.event("SubagentStop", "s1");
    stop["agent_id"] = json!("agent-9");
    sb.hook(&stop);
    let reason = refused(&spawn(&sb, "s1", None)).unwrap();
    assert!(
        reason.contains("this session has started 3 subagents (breaker.subagents.max_per_session is 3)"),
        "{reason}"
    );
}

#[test]
fn the_active_cap_holds_exactly_when_spawns_come_at_once() {
    let sb = std::sync::Arc::new(Sandbox::new("spawn-race"));
    sb.config("[breaker.subagents]\nmax_active = 8\nmax_per_session = 1000\n");
    // The ledger exists before the race (its first call walks the roots).
    sb.hook(&sb.event("UserPromptSubmit", "s1"));
    let handles: Vec<_> = (0..24)
        .map(|_| {
            let sb = sb.clone();
            std::thread::spawn(move || refused(&spawn(&sb, "s1", None)).is_none())
        })
        .collect();
    let allowed = handles.into_iter().map(|h| h.join().unwrap()).filter(|ok| *ok).count();
    assert_eq!(allowed, 8, "exactly max_active spawns start");
}

/// The client's synthetic line for a request the API refused.
fn api_error(uuid: &str, at: &str, error: &str, status: u16) -> String {
    json!({"type": "assistant", "isApiErrorMessage": true, "error": error, "apiErrorStatus": status,
           "requestId": format!("req_{uuid}"), "uuid": uuid, "timestamp": at, "sessionId": "s1", "version": "2.1.331",
           "message": {"model": "<synthetic>", "role": "assistant", "type": "message",
                       "content": [{"type": "text", "text": "API Error"}]}})
    .to_string()
}

#[test]
fn an_api_error_storm_stops_the_session_with_the_kinds_of_error() {
    let mut sb = Sandbox::new("api-errors");
    sb.binary_on_path();
    sb.config("[breaker.api_errors]\ncount = 4\nminutes = 5\n");
    let s1 = sb.transcript("s1");
    s1.lines(&spend("a", &[("2026-11-24T11:50:00Z", 0.1)]));
    for (i, (at, kind, status)) in
        [("11:56", "overloaded_error", 529), ("11:57", "overloaded_error", 529), ("11:58", "rate_limit", 429)]
            .iter()
            .enumerate()
    {
        s1.append(&api_error(&format!("e{i}"), &format!("2026-11-24T{at}:00Z"), kind, *status));
    }
    sb.pre_tool_use("s1").assert_silent_allow();
    s1.append(&api_error("e3", "2026-11-24T11:59:00Z", "overloaded_error", 529));
    let reason = format!(
        "ccbreaker: API error breaker: the API refused 4 requests of this session in the last 5 minutes \
         (overloaded_error (529) x3, rate_limit (429) x1), so the session is stopped rather than left retrying. To go \
         on, run `ccbreaker allow --session s1 --add-usd 0` in a terminal once the API answers again, or raise \
         breaker.api_errors.count in {}.",
        sb.config.display()
    );
    sb.pre_tool_use("s1").assert_is(0, &stop(&reason), "");
    // The same errors spread over half an hour, or without the breaker, are let through.
    let sb = Sandbox::new("api-errors-slow");
    sb.config("[breaker.api_errors]\ncount = 4\nminutes = 5\n");
    for (i, at) in ["11:30", "11:40", "11:50", "11:59"].iter().enumerate() {
        sb.transcript("s1").append(&api_error(&format!("e{i}"), &format!("2026-11-24T{at}:00Z"), "rate_limit", 429));
    }
    sb.pre_tool_use("s1").assert_silent_allow();
}

/// The lines Claude Code 2.1.331 really writes (tests/data/api-errors: two retried attempts, then the request it gave
/// up on, all answered 529), moved to a few minutes before the sandbox's now: three refusals, each counted once.
#[test]
fn the_clients_own_retry_and_error_lines_trip_the_api_error_breaker() {
    let captured = include_str!("../data/api-errors/2.1.331-529-exhausted.jsonl")
        .replace("2026-11-30T10:05:", "2026-11-24T11:58:");
    let mut sb = Sandbox::new("api-errors-real");
    sb.binary_on_path();
    sb.config("[breaker.api_errors]\ncount = 4\nminutes = 5\n");
    let s1 = sb.transcript("s1");
    s1.lines(&spend("a", &[("2026-11-24T11:50:00Z", 0.1)]));
    for line in captured.lines() {
        s1.append(&line.replace("b30c5d36-bd3f-4d44-8f0b-ddb9b4515f8a", "s1"));
    }
    sb.pre_tool_use("s1").assert_silent_allow();
    sb.config("[breaker.api_errors]\ncount = 3\nminutes = 5\n");
    let reason = format!(
        "ccbreaker: API error breaker: the API refused 3 requests of this session in the last 5 minutes \
         (overloaded_error (529) x3), so the session is stopped rather than left retrying. To go on, run `ccbreaker \
         allow --session s1 --add-usd 0` in a terminal once the API answers again, or raise breaker.api_errors.count \
         in {}.",
        sb.config.display()
    );
    sb.pre_tool_use("s1").assert_is(0, &stop(&reason), "");
}

#[test]
fn predict_refuses_the_call_before_the_response_that_would_cross() {
    let mut sb = Sandbox::new("predict");
    sb.binary_on_path();
    sb.config("[budget]\nsession_usd = 20\ndaily_usd = 0\n[policy]\npredict = true\n");
    // Three responses of $5: the next could cost $5 again (the largest so far), which reaches $20.
    sb.transcript("s1").lines(&crate::harness::chain("a", 3, 5.0));
    let reason = format!(
        "ccbreaker: session budget would be reached by the next response: this session has spent $15.00 of a $20.00 \
         session budget, and one response can cost more than the $5.00 left (policy.predict). To go on, run \
         `ccbreaker allow --session s1 --add-usd 20` in a terminal, or raise budget.session_usd in {}.",
        sb.config.display()
    );
    sb.pre_tool_use("s1").assert_is(0, &stop(&reason), "");
    // Without predict, the same session goes on until it reaches the budget.
    sb.config("[budget]\nsession_usd = 20\ndaily_usd = 0\n");
    sb.pre_tool_use("s1").assert_silent_allow();
    // With predict, a session further from the line goes on.
    let sb = Sandbox::new("predict-far");
    sb.config("[budget]\nsession_usd = 20\ndaily_usd = 0\n[policy]\npredict = true\n");
    sb.transcript("s1").lines(&crate::harness::chain("a", 3, 1.0));
    sb.pre_tool_use("s1").assert_silent_allow();
}

#[test]
fn past_downgrade_at_new_subagents_start_on_the_cheaper_model_and_the_session_is_told_once() {
    let sb = Sandbox::new("downgrade");
    sb.config(
        "[budget]\nsession_usd = 20\ndaily_usd = 0\nwarn_at = 0\n[policy]\ndowngrade_at = 0.5\n\
         downgrade_model = \"claude-sonnet-5\"\n",
    );
    let agent = |sb: &Sandbox| {
        let mut event = sb.event("PreToolUse", "s1");
        event["tool_name"] = json!("Agent");
        event["tool_input"] = json!({"description": "d", "prompt": "p", "model": "opus"});
        sb.hook(&event)
    };
    sb.transcript("s1").lines(&crate::harness::chain("a", 1, 9.0));
    agent(&sb).assert_silent_allow();
    sb.transcript("s1").lines(&crate::harness::chain("b", 1, 1.0));
    let rewritten = json!({"description": "d", "prompt": "p", "model": "claude-sonnet-5"});
    let first = json!({"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "allow",
        "updatedInput": rewritten}, "systemMessage": "ccbreaker: 50% of the session budget is spent ($10.00 of \
        $20.00): new subagents start on claude-sonnet-5 (policy.downgrade_at)."});
    agent(&sb).assert_is(0, &format!("{first}\n"), "");
    let again = json!({"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": "allow",
        "updatedInput": rewritten}});
    agent(&sb).assert_is(0, &format!("{again}\n"), "");
    // Other tools are not touched.
    sb.pre_tool_use("s1").assert_silent_allow();
}
