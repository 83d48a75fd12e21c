//! Exact accounting through the hook: each API response once, with its largest usage, in the session that made
//! it, whatever the files do (streaming lines, copies, torn writes, truncation, replacement).

use crate::harness::{Sandbox, chain, response, tokens_for_usd, user_line};

fn output_tokens(sb: &Sandbox, session: &str) -> u64 {
    sb.session_status(session)["output_tokens"].as_u64().unwrap()
}

#[test]
fn streaming_lines_of_one_response_count_once_with_the_largest_usage() {
    let sb = Sandbox::new("streaming");
    let t = sb.transcript("s1");
    t.append(&user_line("u0", None));
    // An older client wrote growing snapshots; the last is the real usage. Each line has its own uuid.
    let r = response("r1", 1).parent("u0");
    t.append(&r.clone().uuid("b1").json());
    t.append(&r.clone().output(5).parent("b1").uuid("b2").json());
    t.append(&r.clone().output(1000).parent("b2").uuid("b3").json());
    sb.pre_tool_use("s1").assert_silent_allow();
    assert_eq!(output_tokens(&sb, "s1"), 1000);
    assert_eq!(sb.session_status("s1")["responses"], 1);
}

#[test]
fn a_response_split_across_two_hook_calls_is_repriced_not_recounted() {
    let sb = Sandbox::new("split");
    let t = sb.transcript("s1");
    t.append(&user_line("u0", None));
    let r = response("r1", 1).parent("u0");
    t.append(&r.clone().uuid("b1").json());
    sb.pre_tool_use("s1").assert_silent_allow();
    assert_eq!(output_tokens(&sb, "s1"), 1);
    t.append(&r.clone().output(tokens_for_usd(21.0)).parent("b1").uuid("b2").json());
    assert_eq!(sb.pre_tool_use("s1").json()["continue"], false);
    let status = sb.session_status("s1");
    assert_eq!((status["responses"].as_u64(), status["cost_usd"].as_f64()), (Some(1), Some(21.0)));
}

#[test]
fn a_resumed_session_that_copies_lines_is_not_charged_for_them() {
    let sb = Sandbox::new("resume");
    sb.transcript("old").lines(&chain("o", 2, 5.0)); // $10, made by "old"
    // "new" starts with copies of old's responses (same ids and uuids, parents elsewhere), then its own.
    let copies: Vec<String> = chain("o", 2, 5.0)
        .into_iter()
        .filter(|l| l.contains("\"assistant\""))
        .map(|l| l.replace("\"sessionId\":\"s\"", "\"sessionId\":\"new\""))
        .collect();
    sb.transcript("new").lines(&copies).lines(&chain("n", 1, 3.0));
    // The resumed session's hook runs first: the copies must still go to the session that made them.
    sb.hook(&sb.event("PreToolUse", "new")).assert_silent_allow();
    let status = sb.status();
    assert_eq!(status["day"]["cost_usd"], 13.0);
    assert_eq!(sb.session_status("new")["cost_usd"], 3.0);
    assert_eq!(sb.session_status("old")["cost_usd"], 10.0);
    // Copies seen after the original was counted are skipped too.
    sb.transcript("newer").lines(&copies);
    sb.hook(&sb.event("PreToolUse", "newer")).assert_silent_allow();
    assert_eq!(sb.status()["day"]["cost_usd"], 13.0);
}

#[test]
fn a_sidechain_replay_of_the_parent_is_not_counted() {
    let sb = Sandbox::new("replay");
    sb.transcript("s1").lines(&chain("m", 1, 4.0));
    // The subagent's file replays the parent's message under a new request id, then works on its own.
    let replay = response("m-0", tokens_for_usd(4.0)).request("req_replayed").sidechain().parent("elsewhere");
    let own = response("sub-0", tokens_for_usd(2.0)).sidechain().parent(&replay.uuid);
    sb.subagent("s1", "a1").lines(&[replay.json(), own.json()]);
    sb.pre_tool_use("s1").assert_silent_allow();
    assert_eq!(sb.session_status("s1")["cost_usd"], 6.0);
}

#[test]
fn a_torn_last_line_is_counted_once_it_is_complete() {
    let sb = Sandbox::new("torn");
    let t = sb.transcript("s1");
    let line = response("r1", tokens_for_usd(21.0)).json();
    let (head, tail) = line.split_at(line.len() / 2);
    t.append_raw(head.as_bytes());
    sb.pre_tool_use("s1").assert_silent_allow();
    t.append_raw(format!("{tail}\n").as_bytes());
    assert_eq!(sb.pre_tool_use("s1").json()["continue"], false);
    assert_eq!(sb.session_status("s1")["responses"], 1);
}

#[test]
fn a_truncated_or_replaced_transcript_is_read_again_without_double_counting() {
    // A session that does not run the hook, read by walks (a hooked session's own transcript that shrinks is
    // refused as tampered: `agent::class_5_*`).
    let sb = Sandbox::new("replaced");
    let t = sb.transcript("s1");
    let lines = chain("a", 3, 2.0);
    t.lines(&lines[..4]); // two responses
    assert_eq!(sb.session_status("s1")["cost_usd"], 4.0);
    // Replaced: a new file (new inode) at the same path, holding the old lines and one more response.
    let fresh = t.path.with_extension("tmp");
    std::fs::write(&fresh, lines.join("\n") + "\n").unwrap();
    std::fs::rename(&fresh, &t.path).unwrap();
    assert_eq!(sb.session_status("s1")["cost_usd"], 6.0);
    // Truncated to its first response, then appended to: shorter than the cursor, so read from the start.
    std::fs::write(&t.path, lines[..2].join("\n") + "\n").unwrap();
    t.lines(&chain("b", 1, 1.0));
    let status = sb.session_status("s1");
    assert_eq!((status["cost_usd"].as_f64(), status["responses"].as_u64()), (Some(7.0), Some(4)));
}

#[test]
fn garbage_lines_are_skipped_and_noted() {
    let sb = Sandbox::new("garbage");
    let t = sb.transcript("s1");
    t.append("").append("not json at all").append("{\"type\":\"assistant\",\"message\":{\"id\":\"x\"");
    t.lines(&chain("a", 1, 1.0));
    t.append_raw(b"\xff\xfe invalid utf-8\n");
    sb.pre_tool_use("s1").assert_silent_allow();
    assert_eq!(sb.session_status("s1")["cost_usd"], 1.0);
}

#[test]
fn synthetic_responses_are_free_and_unknown_models_are_not() {
    let sb = Sandbox::new("models");
    let t = sb.transcript("s1");
    t.append(&response("syn", 1_000_000).model("<synthetic>").json());
    t.append(&response("mystery", 100_000).model("claude-nova-9").json());
    sb.pre_tool_use("s1");
    let status = sb.status();
    assert_eq!(status["unknown_models"], serde_json::json!(["claude-nova-9"]));
    assert_eq!(status["guessed_prices"], serde_json::json!({"claude-nova-9": "claude-opus-4-1"}));
    assert_eq!(sb.session_status("s1")["guessed_price"], true);
    // 100k output tokens at Opus 4.1's $75 per million.
    assert_eq!(sb.session_status("s1")["cost_usd"], 7.5);
    assert_eq!(sb.session_status("s1")["responses"], 1);
}

#[test]
fn cache_writes_are_priced_by_their_lifetime() {
    let sb = Sandbox::new("cache");
    // Sonnet 4.5: $3 input; 5-minute writes 1.25x ($3.75), 1-hour writes 2x ($6), reads 0.1x ($0.30).
    let r = response("c", 0).model("claude-sonnet-4-5-20250929").cache(100_000, 50_000, 40_000);
    sb.transcript("s1").append(&r.json());
    sb.pre_tool_use("s1");
    assert_eq!(sb.session_status("s1")["cost_usd"], 0.687);
    // Past 200k prompt tokens, the whole response is billed at the long-context rates (2x for these).
    let long = response("long", 0).model("claude-sonnet-4-5-20250929").cache(100_000, 50_000, 140_000);
    sb.transcript("s1").append(&long.json());
    sb.pre_tool_use("s1");
    assert_eq!(sb.session_status("s1")["cost_usd"], 2.121); // 0.687 + 2 x (0.375 + 0.3 + 0.042)
}

#[test]
fn a_torn_write_glued_to_a_whole_line_keeps_the_whole_line() {
    let sb = Sandbox::new("glued");
    let t = sb.transcript("s1");
    // A writer died mid-line; the next one appended a whole line without a newline in between.
    t.append_raw(br#"{"type":"assistant","message":{"id":"msg_torn","usage":{"input_tokens":"#);
    t.append(&response("whole", tokens_for_usd(2.0)).cache(10, 0, 20).json());
    sb.pre_tool_use("s1").assert_silent_allow();
    let status = sb.session_status("s1");
    assert_eq!(status["responses"], 1);
    assert_eq!(status["output_tokens"], tokens_for_usd(2.0));
}

#[test]
fn an_original_appended_after_its_copy_was_counted_is_not_counted_twice() {
    let sb = Sandbox::new("copyfirst");
    let a = sb.transcript("a");
    a.lines(&chain("a", 1, 1.0));
    sb.hook(&sb.event("PreToolUse", "a")).assert_silent_allow(); // "a" is followed from here on
    // "a" writes a response; before its own hook runs again, a resumed copy of it is counted elsewhere.
    let original = response("late", tokens_for_usd(3.0)).parent("uuid-a-0");
    let copy = original.clone().parent("not-in-this-file");
    sb.transcript("b").append(&copy.json());
    sb.hook(&sb.event("PreToolUse", "b")).assert_silent_allow();
    a.append(&original.json());
    sb.hook(&sb.event("PreToolUse", "a")).assert_silent_allow();
    assert_eq!(sb.status()["day"]["cost_usd"], 4.0, "the response counts once, as the copy counted it");
}

/// The attack the costliest-reading rule stops: the agent appends to its own transcript a line with a response's
/// ids, a cheap model and more tokens. Under "the largest usage wins" it re-priced a $4.24 response to $0.85 and
/// the session was never blocked.
#[test]
fn a_cheaper_line_appended_with_a_responses_ids_never_lowers_its_price() {
    let opus = |output: u64| response("r1", output).model("claude-opus-4-8");
    // 169,600 output tokens at Opus 4.8's $25 per million: $4.24; the forged line, 1.7 M on Haiku 5.5's $0.50: $0.85.
    let real = opus(169_600).parent("u0");
    let forged = real.clone().model("claude-haiku-5-5").output(1_700_000).uuid("forged").parent(&real.uuid);

    // Both lines read in one hook call.
    let sb = Sandbox::new("forged-one-call");
    sb.config("[budget]\nsession_usd = 4.0\n");
    sb.transcript("s1").append(&user_line("u0", None)).append(&real.json()).append(&forged.json());
    assert_eq!(sb.pre_tool_use("s1").json()["continue"], false, "$4.24 crosses the $4 budget");
    let status = sb.status();
    assert_eq!(sb.session_status("s1")["cost_usd"], 4.24);
    assert!(status["notes"].to_string().contains("disagree on the model"), "{status:#}");

    // The forged line appended after the response was counted, in a later hook call.
    let sb = Sandbox::new("forged-later");
    sb.config("[budget]\nsession_usd = 4.0\n");
    sb.transcript("s1").append(&user_line("u0", None)).append(&real.json());
    assert_eq!(sb.pre_tool_use("s1").json()["continue"], false);
    sb.transcript("s1").append(&forged.json());
    assert_eq!(sb.pre_tool_use("s1").json()["continue"], false, "still blocked");
    assert_eq!(sb.session_status("s1")["cost_usd"], 4.24);
    assert_eq!(sb.status()["day"]["output_tokens"], 169_600);
    let report = sb.run(&["report", "daily", "--json"], b"").json();
    assert_eq!(report["totals"]["cost_usd"], 4.24);
    assert_eq!(report["totals"]["models"], serde_json::json!(["claude-opus-4-8"]));
    // A costlier line does re-price the response: the spend only goes up.
    let dearer = real.clone().output(200_000).uuid("dearer").parent("forged");
    sb.transcript("s1").append(&dearer.json());
    sb.pre_tool_use("s1");
    assert_eq!(sb.session_status("s1")["cost_usd"], 5.0);
    assert_eq!(sb.run(&["report", "daily", "--json"], b"").json()["totals"]["cost_usd"], 5.0);
}

/// Claude Code 2.1.177 and later write a final record for a finished request; until it comes, only a snapshot is on
/// disk and the response is a lower bound. When the final record is read (in a later hook call, lines later), the
/// response is finished: re-priced, and no longer estimated.
#[test]
fn a_final_record_read_later_finishes_a_response_counted_from_its_snapshot() {
    let sb = Sandbox::new("finished-later");
    let done = response("d", 4_000).sidechain();
    let mut snapshot = response("late", 2).sidechain().uuid("s1").parent(&done.uuid);
    snapshot.stop_reason = None;
    let sub = sb.subagent("s1", "a1");
    sub.append(&done.json()).append(&snapshot.json());
    sb.transcript("s1").append(&user_line("u0", None));
    sb.pre_tool_use("s1").assert_silent_allow();
    let day = sb.status()["day"].clone();
    assert_eq!((day["incomplete_responses"].as_u64(), day["lower_bound"].as_bool()), (Some(1), Some(true)));
    // The median of the finished responses is 4,000: (4,000 - 2) x $10 per million.
    assert_eq!(day["estimated_usd"], 0.03998);
    // Another response, then the final record of the first (the same ids, a stop reason, 3,000 output tokens).
    sub.append(&response("next", 10).sidechain().uuid("n1").parent("s1").json());
    let final_record = response("late", 3_000).sidechain().uuid("s2").parent("n1");
    sub.append(&final_record.json());
    sb.pre_tool_use("s1").assert_silent_allow();
    let day = sb.status()["day"].clone();
    assert_eq!((day["incomplete_responses"].as_u64(), day["estimated_usd"].as_f64()), (Some(0), Some(0.0)));
    assert_eq!((day["output_tokens"].as_u64(), day["responses"].as_u64()), (Some(7_010), Some(3)));
    let report = sb.report(&["daily"]);
    assert_eq!(report["totals"]["output_tokens"], 7_010);
    assert_eq!(report["totals"]["lower_bound"], false);
}

/// A model request ccbreaker's mod answered itself: Claude Code 2.1.331 writes an assistant line with zero usage,
/// no `requestId` and `"answeredWithoutRequest": true`. It is no response: `status` counts the requests sent.
#[test]
fn a_step_the_mod_answered_without_a_request_is_not_a_response() {
    let sb = Sandbox::new("answered");
    let t = sb.transcript("s1");
    t.lines(&chain("a", 2, 1.0));
    let answered = serde_json::json!({
        "parentUuid": "uuid-a-1", "isSidechain": false, "type": "assistant", "uuid": "answered-1",
        "timestamp": "2026-11-24T10:00:01.000Z", "sessionId": "s1", "version": "2.1.331",
        "answeredWithoutRequest": true, "isUnmetered": true,
        "message": {"id": "msg_hook_1", "model": "claude-opus-5-5", "role": "assistant", "type": "message",
                    "stop_reason": "end_turn", "content": [{"type": "text", "text": "ccbreaker: session budget reached"}],
                    "usage": {"input_tokens": 0, "output_tokens": 0, "cache_creation_input_tokens": 0,
                              "cache_read_input_tokens": 0}}
    });
    t.append(&answered.to_string());
    let status = sb.session_status("s1");
    assert_eq!((status["responses"].as_u64(), status["cost_usd"].as_f64()), (Some(2), Some(2.0)));
    assert_eq!(sb.report(&["session"])["totals"]["responses"], 2);
}
