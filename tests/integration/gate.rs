//! `ccbreaker gate`, what ccbreaker's mod asks before each model request, subagent, compaction and send: the
//! hook's verdict from the same ledger, the steps the mod saw finish counted once, and what requests in flight hold.

use crate::harness::{BIN, Output, Sandbox, chain, response, tokens_for_usd};
use serde_json::{Value, json};

impl Sandbox {
    /// `ccbreaker gate` with `request` on stdin.
    fn gate(&self, request: &Value) -> Output {
        self.run(&["gate"], request.to_string().as_bytes())
    }

    /// A request of the mod for `session`, in the sandbox's project.
    fn ask(&self, op: &str, session: &str, agent: &str, step: &str) -> Value {
        json!({"op": op, "session": session, "transcript": self.transcript(session).path, "agent": agent,
               "step": step, "model": "claude-sonnet-5"})
    }

    /// `end` of `step`: a claude-sonnet-5 response of `usd` (its output tokens), with these tool calls.
    fn end(&self, session: &str, agent: &str, step: &str, usd: f64, tools: &[&str]) -> Output {
        let mut request = self.ask("end", session, agent, step);
        request["usage"] = json!({"model": "claude-sonnet-5", "input_tokens": 0, "output_tokens": tokens_for_usd(usd),
            "cache_read_input_tokens": 0, "cache_creation_input_tokens": 0, "ephemeral_5m_input_tokens": 0,
            "ephemeral_1h_input_tokens": 0});
        request["tools"] = json!(tools);
        self.gate(&request)
    }

    fn step(&self, session: &str, agent: &str, step: &str) -> Value {
        self.gate(&self.ask("step", session, agent, step)).json()
    }
}

fn allowed(answer: &Value) -> bool {
    answer == &json!({"allow": true})
}

#[test]
fn a_step_under_budget_is_let_through_and_holds_its_estimate_until_it_ends() {
    let sb = Sandbox::new("gate-under");
    sb.transcript("s1").lines(&chain("a", 2, 1.0));
    assert!(allowed(&sb.step("s1", "", "t/0")));
    let row = sb.session_status("s1");
    assert_eq!((row["reserved_usd"].clone(), row["gates"].clone()), (json!(1.0), json!("mod")), "{row:#}");
    sb.end("s1", "", "t/0", 1.0, &["toolu_1"]).assert_is(0, "{\"allow\":true}\n", "");
    let row = sb.session_status("s1");
    assert_eq!((row["reserved_usd"].clone(), row["provisional_usd"].clone()), (json!(0.0), json!(1.0)));
    sb.pre_tool_use("s1").assert_silent_allow();
    assert_eq!(sb.session_status("s1")["gates"], "mod+hooks");
}

#[test]
fn a_step_over_budget_is_refused_naming_ccbreaker_the_budget_and_how_to_lift_it() {
    let mut sb = Sandbox::new("gate-over");
    sb.binary_on_path();
    sb.config("[budget]\nsession_usd = 5\n");
    sb.transcript("s1").lines(&chain("a", 3, 2.0));
    let reason = format!(
        "ccbreaker: session budget reached: this session has spent $6.00 of its $5.00 budget. To go on, run \
         `ccbreaker allow --session s1 --add-usd 5` in a terminal, or raise budget.session_usd in {}.",
        sb.config.display()
    );
    let expected = format!("{}\n", json!({"allow": false, "reason": reason}));
    for op in ["step", "spawn", "compact", "send"] {
        sb.gate(&sb.ask(op, "s1", "", "t/1")).assert_is(0, &expected, "");
    }
    let halted = &sb.session_status("s1")["halted"];
    assert_eq!((halted["by"].clone(), halted["event"].clone()), (json!("mod"), json!("http.fetch")), "{halted}");
    assert_eq!(halted["reason"], reason);
    assert_eq!(halted["at"], "2026-11-24T12:00:00+00:00");
    let log = sb.run(&["log", "--json"], b"").json();
    let events: Vec<&str> = log.as_array().unwrap().iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(events, ["turn.step", "agent.spawn", "session.compact", "http.fetch"], "{log:#}");
    assert!(log.as_array().unwrap().iter().all(|e| e["kind"] == "block" && e["detail"] == reason.as_str()));
}

#[test]
fn a_finished_step_counts_once_whether_its_report_or_its_transcript_line_comes_first() {
    let sb = Sandbox::new("gate-once");
    sb.config("[budget]\nsession_usd = 100\n");
    sb.transcript("s1").lines(&chain("a", 1, 1.0));
    assert!(allowed(&sb.step("s1", "", "t/1")));
    // The report first: counted provisionally, then the transcript's line takes its place.
    sb.end("s1", "", "t/1", 3.0, &["toolu_a"]);
    let row = sb.session_status("s1");
    assert_eq!((row["cost_usd"].clone(), row["provisional_usd"].clone()), (json!(1.0), json!(3.0)));
    let line = response("b", tokens_for_usd(3.0)).tool_use("toolu_a").at("2026-11-24T12:00:01.000Z");
    sb.transcript("s1").append(&line.json());
    let row = sb.session_status("s1");
    assert_eq!((row["cost_usd"].clone(), row["provisional_usd"].clone()), (json!(4.0), json!(0.0)));
    assert_eq!(row["responses"], 2);
    // The line first (a subagent's), then the report: it claims the response and adds nothing.
    let sub = sb.subagent("s1", "a77");
    sub.append(&response("c", tokens_for_usd(2.0)).sidechain().at("2026-11-24T12:00:02.000Z").json());
    assert_eq!(sb.session_status("s1")["cost_usd"], 6.0);
    sb.end("s1", "a77", "u/0", 2.0, &[]);
    let row = sb.session_status("s1");
    assert_eq!((row["cost_usd"].clone(), row["provisional_usd"].clone()), (json!(6.0), json!(0.0)));
    // Reported again (a second mod loaded): still once.
    sb.end("s1", "a77", "u/0", 2.0, &[]);
    sb.end("s1", "", "t/1", 3.0, &["toolu_a"]);
    assert_eq!(sb.session_status("s1")["provisional_usd"], 0.0);
}

#[test]
fn a_step_reported_before_its_line_crosses_the_budget_for_the_hook_at_once() {
    let sb = Sandbox::new("gate-hook");
    sb.config("[budget]\nsession_usd = 5\n[policy]\nwait_ms = 0\n");
    sb.transcript("s1").lines(&chain("a", 1, 1.0));
    assert!(allowed(&sb.step("s1", "", "t/1")));
    sb.end("s1", "", "t/1", 4.5, &["toolu_x"]);
    let mut event = sb.event("PreToolUse", "s1");
    event["tool_use_id"] = json!("toolu_x");
    let answer = sb.hook(&event).json();
    assert_eq!(answer["continue"], false, "the mod's report is spend: {answer}");
    assert!(answer["stopReason"].as_str().unwrap().contains("has spent $5.50 of its $5.00"), "{answer}");
}

#[test]
fn requests_in_flight_hold_against_other_steps_never_their_own() {
    let sb = Sandbox::new("gate-held");
    sb.config("[budget]\nsession_usd = 1\n[policy]\nwait_ms = 0\n");
    sb.transcript("s1").lines(&chain("a", 1, 0.4));
    // `last`: each request in flight holds what the latest response cost ($0.40).
    assert!(allowed(&sb.step("s1", "a1", "x/0")));
    assert!(allowed(&sb.step("s1", "a1", "x/0")), "asked twice: its own estimate never counts");
    assert!(allowed(&sb.step("s1", "a2", "y/0")), "0.40 + 0.40 of the other < 1");
    let refused = sb.step("s1", "a3", "z/0");
    assert_eq!(refused["allow"], false, "0.40 + 0.80 held ≥ 1: {refused}");
    assert!(refused["reason"].as_str().unwrap().contains("has spent $1.20 of its $1.00"), "{refused}");
    // A subagent about to start counts every request in flight; a send only what was spent.
    assert_eq!(sb.gate(&sb.ask("spawn", "s1", "", "")).json()["allow"], false);
    assert!(allowed(&sb.gate(&sb.ask("send", "s1", "", "")).json()));
    // The hook never refuses on an estimate.
    sb.pre_tool_use("s1").assert_silent_allow();
    // a1's next step ends its previous request; a2 stops: its request is over.
    assert!(allowed(&sb.step("s1", "a1", "x/1")));
    let mut stop = sb.event("SubagentStop", "s1");
    stop["agent_id"] = json!("a2");
    sb.hook(&stop).assert_silent_allow();
    assert!(allowed(&sb.step("s1", "a3", "z/0")));
    assert_eq!(sb.session_status("s1")["reserved_usd"], 0.8);
}

#[test]
fn a_lone_request_is_never_refused_on_its_estimate() {
    let sb = Sandbox::new("gate-lone");
    // `bound`: with no response yet, 128,000 output tokens of the dearest model, far over $1.
    sb.config("[budget]\nsession_usd = 1\n[policy]\nreserve = \"bound\"\nwait_ms = 0\n");
    assert!(allowed(&sb.step("fresh", "", "t/0")));
    assert!(sb.session_status("fresh")["reserved_usd"].as_f64().unwrap() > 1.0);
    assert_eq!(sb.step("fresh", "a1", "u/0")["allow"], false, "another request holds the bound");
    let off = Sandbox::new("gate-off");
    off.config("[budget]\nsession_usd = 1\n[policy]\nreserve = \"off\"\n");
    assert!(allowed(&off.step("fresh", "", "t/0")));
    assert!(allowed(&off.step("fresh", "a1", "u/0")));
}

#[test]
fn near_a_budget_a_step_waits_for_requests_in_flight_to_finish() {
    let sb = Sandbox::new("gate-wait");
    sb.config("[budget]\nsession_usd = 1\n[policy]\nwait_ms = 3000\n");
    sb.transcript("s1").lines(&chain("a", 1, 0.4));
    assert!(allowed(&sb.step("s1", "a1", "x/0")));
    assert!(allowed(&sb.step("s1", "a2", "y/0")));
    let sb = std::sync::Arc::new(sb);
    let waiting = {
        let sb = sb.clone();
        std::thread::spawn(move || (std::time::Instant::now(), sb.step("s1", "a3", "z/0")))
    };
    std::thread::sleep(std::time::Duration::from_millis(300));
    sb.end("s1", "a2", "y/0", 0.05, &[]);
    let (started, answer) = waiting.join().unwrap();
    assert!(allowed(&answer), "a2 finished for $0.05 while a3 waited: {answer}");
    assert!(started.elapsed() < std::time::Duration::from_millis(2500));
}

#[test]
fn reservations_go_with_their_client_and_expire() {
    let mut sb = Sandbox::new("gate-expire");
    sb.config("[budget]\nsession_usd = 1\n[policy]\nwait_ms = 0\n");
    sb.transcript("s1").lines(&chain("a", 1, 0.6));
    // A client that has exited (`sh` ran the gate, then ended): its request holds nothing any more.
    let request = sb.ask("step", "s1", "gone", "g/0").to_string();
    std::fs::write(sb.root.join("req.json"), request).unwrap();
    let cmd = sb.command_of("/bin/sh", &["-c", &format!("'{BIN}' gate < req.json; true")]);
    let out = crate::harness::run(cmd, b"");
    assert_eq!(out.json(), json!({"allow": true}), "{}", out.stderr);
    assert!(allowed(&sb.step("s1", "a1", "x/0")), "the exited client's request holds nothing");
    // A request whose end never comes: held, then dropped after 15 minutes.
    assert_eq!(sb.step("s1", "a2", "y/0")["allow"], false);
    sb.now = "2026-11-24T12:14:59Z".to_owned();
    assert_eq!(sb.step("s1", "a2", "y/0")["allow"], false);
    sb.now = "2026-11-24T12:15:00Z".to_owned();
    assert!(allowed(&sb.step("s1", "a2", "y/0")));
}

#[test]
fn the_mod_never_takes_a_warning_from_the_hook() {
    let sb = Sandbox::new("gate-warn");
    sb.transcript("s1").lines(&chain("a", 1, 17.0));
    assert!(allowed(&sb.step("s1", "", "t/0")));
    let answer = sb.pre_tool_use("s1").json();
    assert!(answer["systemMessage"].as_str().unwrap().contains("(85%)"), "{answer}");
}

#[test]
fn requests_that_cannot_be_read_are_refused_with_the_reason() {
    let sb = Sandbox::new("gate-bad");
    sb.run(&["gate"], b"").assert_is(
        1,
        "",
        "ccbreaker: the gate's input on stdin is not a request of ccbreaker's mod: EOF while parsing a value at line 1 \
         column 0\n",
    );
    sb.run(&["gate"], br#"{"op":"launch"}"#).assert_is(
        1,
        "",
        "ccbreaker: the gate's input asks `launch`, which is none of step, end, spawn, compact, send\n",
    );
    sb.run(&["gate"], br#"{"op":"step","session":"s"}"#).assert_is(
        1,
        "",
        "ccbreaker: the gate's `step` request names no `step`\n",
    );
    sb.run(&["gate"], br#"{"op":"send"}"#).assert_is(
        1,
        "",
        "ccbreaker: hook input has neither `transcript_path` nor `session_id`\n",
    );
    sb.run(&["gate", "extra"], b"{}").assert_is(
        64,
        "",
        "ccbreaker: unexpected argument `extra`\nRun `ccbreaker --help` for usage.\n",
    );
}

#[test]
fn the_subagent_caps_hold_at_the_mods_spawn_and_a_tool_call_does_not_count_twice() {
    let sb = Sandbox::new("gate-spawn-caps");
    sb.config("[breaker.subagents]\nmax_active = 2\n");
    let spawn = || sb.gate(&sb.ask("spawn", "s1", "", "")).json();
    assert!(allowed(&sb.step("s1", "", "t/0")), "the session has the mod");
    // The Agent tool call is checked, but counted where the subagent starts: at the mod's spawn.
    for _ in 0..2 {
        let mut call = sb.event("PreToolUse", "s1");
        call["tool_name"] = json!("Agent");
        sb.hook(&call).assert_silent_allow();
        assert!(allowed(&spawn()));
    }
    let refused = spawn();
    assert_eq!(refused["allow"], false, "{refused}");
    assert!(
        refused["reason"].as_str().unwrap().starts_with(
            "ccbreaker: subagent cap: 2 subagents are running (breaker.subagents.max_active is 2), so this subagent is \
             refused."
        ),
        "{refused}"
    );
}

#[test]
fn the_mods_plan_readings_are_recorded_as_the_statuslines_and_a_plan_budget_refuses_on_them() {
    let sb = Sandbox::new("gate-plan");
    sb.config("[budget]\nsession_usd = 0\ndaily_usd = 0\nwarn_at = 0\nfive_hour_pct = 95\n");
    sb.transcript("s1").lines(&chain("a", 1, 0.5));
    // Without readings (an API key's client sends none), nothing changes.
    assert!(allowed(&sb.step("s1", "", "t/0")));
    let with = |op: &str, step: &str, pct: f64, resets: &str| {
        let mut request = sb.ask(op, "s1", "", step);
        request["rate_limits"] = json!([{"kind": "five_hour", "percentUsed": pct, "resetsAt": resets},
            {"kind": "seven_day", "percentUsed": 40}]);
        sb.gate(&request).json()
    };
    assert!(allowed(&with("step", "t/1", 90.0, "2026-11-24T14:00:00.000Z")));
    let plan = &sb.status()["plan"];
    assert_eq!(plan[0]["window"], "five_hour", "{plan}");
    assert_eq!((plan[0]["used_percentage"].as_f64(), plan[0]["current"].as_bool()), (Some(90.0), Some(true)));
    assert_eq!((plan[1]["window"].as_str(), plan[1]["used_percentage"].as_f64()), (Some("seven_day"), Some(40.0)));
    let reason = format!(
        "ccbreaker: plan 5-hour window budget reached: the plan's 5-hour window is 96% used of a 95% plan 5-hour \
         window budget (budget.five_hour_pct). It resets when the window resets, at 2026-11-24 14:00 UTC; to go on \
         sooner, raise budget.five_hour_pct in {}.",
        sb.config.display()
    );
    assert_eq!(with("spawn", "", 96.0, "2026-11-24T14:00:00.000Z"), json!({"allow": false, "reason": reason}));
    // The highest reading of a window stays: a lower one later refuses all the same, and so does a request without.
    assert_eq!(with("step", "t/2", 50.0, "2026-11-24T14:00:00.000Z")["allow"], false);
    assert_eq!(sb.step("s1", "", "t/3")["allow"], false);

    // A reading of a window that has reset since says nothing about the window now.
    let sb = Sandbox::new("gate-plan-old");
    sb.config("[budget]\nsession_usd = 0\ndaily_usd = 0\nwarn_at = 0\nfive_hour_pct = 95\n");
    sb.transcript("s1").lines(&chain("a", 1, 0.5));
    let mut request = sb.ask("step", "s1", "", "t/0");
    request["rate_limits"] = json!([{"kind": "five_hour", "percentUsed": 99, "resetsAt": "2026-11-24T11:30:00Z"}]);
    assert!(allowed(&sb.gate(&request).json()));
    assert_eq!(sb.status()["plan"][0]["current"], false);
}

#[test]
fn past_downgrade_at_the_mods_spawn_starts_on_the_cheaper_model_and_the_session_is_told_once() {
    let sb = Sandbox::new("gate-downgrade");
    sb.config(
        "[budget]\nsession_usd = 20\ndaily_usd = 0\nwarn_at = 0\n[policy]\ndowngrade_at = 0.5\n\
         downgrade_model = \"claude-sonnet-5\"\n",
    );
    let spawn = |model: Option<&str>| {
        let mut request = sb.ask("spawn", "s1", "", "");
        request["model"] = json!(model);
        sb.gate(&request)
    };
    sb.transcript("s1").lines(&chain("a", 1, 9.0));
    spawn(Some("opus")).assert_is(0, "{\"allow\":true}\n", "");
    sb.transcript("s1").lines(&chain("b", 1, 1.0));
    let first = json!({"allow": true, "model": "claude-sonnet-5", "message": "ccbreaker: 50% of the session budget is \
        spent ($10.00 of $20.00): new subagents start on claude-sonnet-5 (policy.downgrade_at)."});
    spawn(Some("opus")).assert_is(0, &format!("{first}\n"), "");
    // Told once; a spawn that names no model (it would inherit its parent's) starts on the cheaper one too.
    let again = json!({"allow": true, "model": "claude-sonnet-5"});
    spawn(None).assert_is(0, &format!("{again}\n"), "");
    // Already on it: nothing to rewrite. Steps are not touched.
    spawn(Some("claude-sonnet-5")).assert_is(0, "{\"allow\":true}\n", "");
    assert!(allowed(&sb.step("s1", "", "t/0")));
    // The hook's Agent call after the gate's notice is not told again.
    let mut event = sb.event("PreToolUse", "s1");
    event["tool_name"] = json!("Agent");
    event["tool_input"] = json!({"description": "d", "prompt": "p", "model": "opus"});
    let answer = sb.hook(&event).json();
    assert_eq!(answer["hookSpecificOutput"]["updatedInput"]["model"], "claude-sonnet-5", "{answer}");
    assert!(answer.get("systemMessage").is_none(), "{answer}");
}

#[test]
fn a_step_the_mod_reported_counts_for_the_burn_rate_before_its_transcript_line_arrives() {
    let sb = Sandbox::new("gate-burn");
    sb.config("[breaker.burn_rate]\nusd = 1.0\nminutes = 10\n");
    // The session's earlier spend is outside the window (the chain is hours before now).
    sb.transcript("s1").lines(&chain("a", 1, 0.5));
    assert!(allowed(&sb.step("s1", "", "t/1")));
    // The crossing response: reported by the mod with its tool call, not yet in the transcript.
    sb.end("s1", "", "t/1", 1.25, &["toolu_cross"]).assert_is(0, "{\"allow\":true}\n", "");
    let mut event = sb.event("PreToolUse", "s1");
    event["tool_use_id"] = json!("toolu_cross");
    let answer = sb.hook(&event).json();
    assert_eq!(answer["continue"], false, "{answer}");
    let reason = answer["stopReason"].as_str().unwrap();
    assert!(reason.contains("burn-rate breaker reached: $1.25 spent in the last 10 minutes"), "{reason}");
}
