//! Every budget beyond the session's and the day's dollars (issue 18), on replayed transcripts: each blocks at the
//! response that reaches it, with words that name the pattern, the numbers and what lifts it, and the same
//! transcript without the pattern stays allowed. `CCBREAKER_NOW` is Tuesday 2026-11-24 12:00 UTC.

use crate::harness::{Sandbox, response, tokens_for_usd, user_line};
use serde_json::{Value, json};

/// Responses of `usd` each at the given times, each after a user line, with `fields` added to every response line
/// (`cwd`, `gitBranch`) and on `model`.
fn timed(prefix: &str, at: &[(&str, f64)], model: &str, fields: &[(&str, &str)]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut parent: Option<String> = None;
    for (i, (time, usd)) in at.iter().enumerate() {
        let user = format!("{prefix}-user-{i}");
        lines.push(user_line(&user, parent.as_deref()));
        let r = response(&format!("{prefix}-{i}"), tokens_for_usd(*usd)).parent(&user).at(time).model(model);
        parent = Some(r.uuid.clone());
        let mut line: Value = serde_json::from_str(&r.json()).unwrap();
        for (key, value) in fields {
            line[*key] = json!(value);
        }
        lines.push(line.to_string());
    }
    lines
}

fn sonnet(prefix: &str, at: &[(&str, f64)]) -> Vec<String> {
    timed(prefix, at, "claude-sonnet-5", &[])
}

fn deny(reason: &str) -> String {
    let answer = json!({"continue": false, "stopReason": reason, "hookSpecificOutput": {
        "hookEventName": "PreToolUse", "permissionDecision": "deny", "permissionDecisionReason": reason}});
    format!("{answer}\n")
}

#[test]
fn the_weekly_budget_counts_from_monday_and_blocks_at_the_response_that_reaches_it() {
    let mut sb = Sandbox::new("scope-week");
    sb.binary_on_path();
    sb.config("[budget]\nsession_usd = 0\ndaily_usd = 0\nwarn_at = 0\nweekly_usd = 35\n");
    // Sunday's spend is last week's; Monday's is this week's.
    sb.transcript("old").lines(&sonnet("o", &[("2026-11-22T10:00:00Z", 50.0)]));
    sb.transcript("mon").lines(&sonnet("m", &[("2026-11-23T10:00:00Z", 30.0)]));
    let s1 = sb.transcript("s1");
    s1.lines(&sonnet("a", &[("2026-11-24T10:00:00Z", 4.0)]));
    sb.pre_tool_use("s1").assert_silent_allow();
    s1.lines(&sonnet("b", &[("2026-11-24T11:00:00Z", 1.0)]));
    let reason = format!(
        "ccbreaker: weekly budget reached: $35.00 spent this week (from Monday 2026-11-23, UTC) across all sessions \
         of a $35.00 weekly budget (budget.weekly_usd). It resets on 2026-11-30 (UTC); to go on now, run `ccbreaker \
         allow --session s1 --add-usd 10` in a terminal, or raise budget.weekly_usd in {}.",
        sb.config.display()
    );
    sb.pre_tool_use("s1").assert_is(0, &deny(&reason), "");
    // The grant lifts it for this session.
    let granted = sb.run(&["allow", "--session", "s1", "--add-usd", "10"], b"");
    assert_eq!(granted.code, 0, "{}", granted.stderr);
    sb.pre_tool_use("s1").assert_silent_allow();
}

#[test]
fn without_a_weekly_budget_the_same_week_is_allowed() {
    let sb = Sandbox::new("scope-week-off");
    sb.config("[budget]\nsession_usd = 0\ndaily_usd = 0\n");
    sb.transcript("mon").lines(&sonnet("m", &[("2026-11-23T10:00:00Z", 30.0)]));
    sb.transcript("s1").lines(&sonnet("a", &[("2026-11-24T10:00:00Z", 5.0)]));
    sb.pre_tool_use("s1").assert_silent_allow();
}

#[test]
fn the_monthly_budget_counts_the_calendar_month() {
    let sb = Sandbox::new("scope-month");
    sb.config("[budget]\nsession_usd = 0\ndaily_usd = 0\nwarn_at = 0\nmonthly_usd = 40\n");
    sb.transcript("oct").lines(&sonnet("x", &[("2026-10-31T10:00:00Z", 100.0)]));
    sb.transcript("nov").lines(&sonnet("n", &[("2026-11-02T10:00:00Z", 38.0)]));
    let s1 = sb.transcript("s1");
    s1.lines(&sonnet("a", &[("2026-11-24T10:00:00Z", 1.0)]));
    sb.pre_tool_use("s1").assert_silent_allow();
    s1.lines(&sonnet("b", &[("2026-11-24T10:30:00Z", 1.0)]));
    let out = sb.pre_tool_use("s1");
    let reason = out.json()["stopReason"].as_str().unwrap().to_owned();
    assert!(
        reason.starts_with(
            "ccbreaker: monthly budget reached: $40.00 spent this month (from 2026-11-01, UTC) across all sessions of \
             a $40.00 monthly budget (budget.monthly_usd). It resets on 2026-12-01 (UTC)"
        ),
        "{reason}"
    );
}

#[test]
fn the_5_hour_block_is_the_one_report_blocks_shows() {
    let sb = Sandbox::new("scope-block");
    sb.config("[budget]\nsession_usd = 0\ndaily_usd = 0\nwarn_at = 0\nblock_5h_usd = 5\n");
    // 06:20 opens the block 06:00-11:00 (08:10 is in it); 11:30 opens 11:00-16:00: only $2 is in the block now.
    let other = sb.transcript("other");
    other.lines(&sonnet("o", &[("2026-11-24T06:20:00Z", 3.0), ("2026-11-24T08:10:00Z", 3.0)]));
    let s1 = sb.transcript("s1");
    s1.lines(&sonnet("a", &[("2026-11-24T11:30:00Z", 2.0)]));
    sb.pre_tool_use("s1").assert_silent_allow();
    assert_eq!(sb.report(&["blocks"])["blocks"].as_array().unwrap().len(), 2, "report blocks agrees");
    s1.lines(&sonnet("b", &[("2026-11-24T11:50:00Z", 3.0)]));
    let reason = sb.pre_tool_use("s1").json()["stopReason"].as_str().unwrap().to_owned();
    assert!(
        reason.starts_with(
            "ccbreaker: 5-hour block budget reached: $5.00 spent in the billing block that began at 2026-11-24 11:00 \
             UTC across all sessions of a $5.00 5-hour block budget (budget.block_5h_usd). It resets at 2026-11-24 \
             16:00 UTC, when the block ends; to go on now, run `"
        ),
        "{reason}"
    );
}

#[test]
fn token_budgets_count_the_chosen_classes() {
    let sb = Sandbox::new("scope-tokens");
    sb.config(
        "[budget]\nsession_usd = 0\ndaily_usd = 0\nwarn_at = 0\nsession_tokens = 300000\n\
         token_classes = [\"output\"]\n",
    );
    let s1 = sb.transcript("s1");
    // $1 is 100,000 output tokens.
    s1.lines(&sonnet("a", &[("2026-11-24T10:00:00Z", 2.0)]));
    sb.pre_tool_use("s1").assert_silent_allow();
    s1.lines(&sonnet("b", &[("2026-11-24T10:05:00Z", 1.0)]));
    let reason = sb.pre_tool_use("s1").json()["stopReason"].as_str().unwrap().to_owned();
    assert_eq!(
        reason,
        format!(
            "ccbreaker: session token budget reached: this session has used 300000 tokens (output) of a 300000 tokens \
             session token budget (budget.session_tokens). To go on, raise budget.session_tokens in {}.",
            sb.config.display()
        )
    );
    // The day's tokens, all classes: another session's count too.
    let sb = Sandbox::new("scope-day-tokens");
    sb.config("[budget]\nsession_usd = 0\ndaily_usd = 0\nwarn_at = 0\ndaily_tokens = 250000\n");
    sb.transcript("other").lines(&sonnet("o", &[("2026-11-24T09:00:00Z", 2.0)]));
    sb.transcript("s1").lines(&sonnet("a", &[("2026-11-24T10:00:00Z", 0.4)]));
    sb.pre_tool_use("s1").assert_silent_allow();
    sb.transcript("s1").lines(&sonnet("b", &[("2026-11-24T10:10:00Z", 0.1)]));
    let reason = sb.pre_tool_use("s1").json()["stopReason"].as_str().unwrap().to_owned();
    assert!(
        reason.starts_with(
            "ccbreaker: daily token budget reached: 250000 tokens (all token classes) used today (2026-11-24, UTC)"
        ),
        "{reason}"
    );
}

#[test]
fn a_project_budget_holds_the_sessions_of_its_directory_and_branch() {
    let mut sb = Sandbox::new("scope-project");
    sb.binary_on_path();
    sb.config(
        "[budget]\nsession_usd = 0\ndaily_usd = 0\nwarn_at = 0\n\
         [[budget.project]]\npath = \"~/work/acme/**\"\nbranch = \"main\"\ndaily_usd = 10\n\
         [[budget.project]]\npath = \"~/work/**\"\ndaily_usd = 1000\n",
    );
    let home = sb.home.display().to_string();
    let acme = format!("{home}/work/acme");
    let api = format!("{home}/work/acme/api");
    // Another session of the project on main ($6), one on another branch ($50): only main's counts.
    let main_fields = [("cwd", api.as_str()), ("gitBranch", "main")];
    sb.transcript("other").lines(&timed("o", &[("2026-11-24T09:00:00Z", 6.0)], "claude-sonnet-5", &main_fields));
    let dev = [("cwd", acme.as_str()), ("gitBranch", "dev")];
    sb.transcript("dev").lines(&timed("d", &[("2026-11-24T09:00:00Z", 50.0)], "claude-sonnet-5", &dev));
    let mine = [("cwd", acme.as_str()), ("gitBranch", "main")];
    let s1 = sb.transcript("s1");
    s1.lines(&timed("a", &[("2026-11-24T10:00:00Z", 3.0)], "claude-sonnet-5", &mine));
    sb.pre_tool_use("s1").assert_silent_allow();
    s1.lines(&timed("b", &[("2026-11-24T10:30:00Z", 1.0)], "claude-sonnet-5", &mine));
    let reason = format!(
        "ccbreaker: project \"~/work/acme/**\" on branch main daily budget reached: $10.00 spent today (2026-11-24, \
         UTC) by the project's sessions of a $10.00 project \"~/work/acme/**\" on branch main daily budget \
         (budget.project[0].daily_usd). It resets at midnight (UTC); to go on now, run `ccbreaker allow --session s1 \
         --add-usd 10` in a terminal, or raise budget.project[0].daily_usd in {}.",
        sb.config.display()
    );
    sb.pre_tool_use("s1").assert_is(0, &deny(&reason), "");
    // The session on branch dev is held by the second entry only (its $50 of $1000).
    sb.pre_tool_use("dev").assert_silent_allow();
}

#[test]
fn a_model_budget_counts_only_that_models_spend() {
    let sb = Sandbox::new("scope-model");
    sb.config(
        "[budget]\nsession_usd = 0\ndaily_usd = 0\nwarn_at = 0\n[budget.model.\"claude-opus-*\"]\ndaily_usd = 10\n",
    );
    // claude-opus-4-7 is $25 per million output tokens: 100,000 tokens (a "$1" sonnet response) cost $2.50.
    let opus = sb.transcript("opus");
    opus.lines(&timed("o", &[("2026-11-24T09:00:00Z", 3.0)], "claude-opus-4-7", &[]));
    sb.pre_tool_use("opus").assert_silent_allow();
    opus.lines(&timed("p", &[("2026-11-24T09:10:00Z", 1.0)], "claude-opus-4-7", &[]));
    sb.transcript("sonnet").lines(&sonnet("s", &[("2026-11-24T09:00:00Z", 30.0)]));
    sb.pre_tool_use("sonnet").assert_silent_allow();
    let out = sb.pre_tool_use("opus");
    let reason = out.json()["stopReason"].as_str().unwrap().to_owned();
    assert!(
        reason.starts_with(
            "ccbreaker: model \"claude-opus-*\" daily budget reached: $10.00 spent today (2026-11-24, UTC) on models \
             matching \"claude-opus-*\", all sessions of a $10.00 model \"claude-opus-*\" daily budget \
             (budget.model.\"claude-opus-*\".daily_usd)."
        ),
        "{reason}"
    );
    // The session on sonnet is not on that model: it goes on.
    sb.pre_tool_use("sonnet").assert_silent_allow();
}

#[test]
fn each_scope_warns_once_at_its_own_fraction() {
    let sb = Sandbox::new("scope-warn");
    sb.config("[budget]\nsession_usd = 0\ndaily_usd = 0\nwarn_at = 0.5\nweekly_usd = 10\n");
    sb.transcript("s1").lines(&sonnet("a", &[("2026-11-24T10:00:00Z", 6.0)]));
    let warning = "ccbreaker: $6.00 spent this week (from Monday 2026-11-23, UTC) across all sessions of the $10.00 \
                   weekly budget (60%).";
    sb.pre_tool_use("s1").assert_is(0, &format!("{}\n", json!({ "systemMessage": warning })), "");
    sb.pre_tool_use("s1").assert_silent_allow();
}

#[test]
fn status_lists_every_scope_nearest_first() {
    let sb = Sandbox::new("scope-status");
    sb.config(
        "[budget]\nsession_usd = 20\ndaily_usd = 100\nweekly_usd = 10\nmonthly_usd = 1000\ndaily_tokens = 10000000\n\
         block_5h_usd = 50\n[[budget.project]]\npath = \"/nowhere/**\"\nweekly_usd = 5\n\
         [budget.model.\"claude-sonnet-*\"]\ndaily_usd = 8\n",
    );
    sb.transcript("s1").lines(&sonnet("a", &[("2026-11-24T10:00:00Z", 6.0)]));
    let status = sb.status();
    let scopes: Vec<(String, f64, f64)> = status["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["scope"].as_str().unwrap().to_owned(), s["spent"].as_f64().unwrap(), s["limit"].as_f64().unwrap()))
        .collect();
    let names: Vec<&str> = scopes.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(
        names,
        ["model[0].daily", "weekly", "block_5h", "daily", "daily_tokens", "monthly", "project[0].weekly"],
        "{status:#}"
    );
    assert_eq!(scopes[0], ("model[0].daily".to_owned(), 6.0, 8.0));
    assert_eq!(status["scopes"][4]["unit"], "tokens");
    let text = sb.run(&["status"], b"").stdout;
    assert!(text.contains("scopes (nearest to its limit first):"), "{text}");
    assert!(text.contains("model \"claude-sonnet-*\" daily budget"), "{text}");
    // With --session, the session's own scopes too.
    let out = sb.run(&["status", "--json", "--session", "s1"], b"");
    let names: Vec<String> =
        out.json()["scopes"].as_array().unwrap().iter().map(|s| s["scope"].as_str().unwrap().to_owned()).collect();
    assert!(names.contains(&"session".to_owned()), "{names:?}");
}

#[test]
fn a_plan_budget_stops_at_its_percentage_of_the_recorded_window_and_ignores_a_reset_one() {
    let sb = Sandbox::new("scope-plan");
    sb.config("[budget]\nsession_usd = 0\ndaily_usd = 0\nwarn_at = 0\nfive_hour_pct = 90\n");
    sb.transcript("s1").lines(&sonnet("a", &[("2026-11-24T11:00:00Z", 0.5)]));
    sb.pre_tool_use("s1").assert_silent_allow();
    // The statusline records what Claude Code reports: 85%, then 92% of the window that resets at 14:00.
    let statusline = |pct: f64, resets: &str| {
        let payload = json!({"session_id": "s1", "transcript_path": sb.transcript("s1").path, "model": {"id": "x"},
            "rate_limits": {"five_hour": {"used_percentage": pct, "resets_at": resets}}});
        assert_eq!(sb.run(&["statusline"], payload.to_string().as_bytes()).code, 0);
    };
    statusline(85.0, "2026-11-24T14:00:00Z");
    sb.pre_tool_use("s1").assert_silent_allow();
    statusline(92.0, "2026-11-24T14:00:00Z");
    let plan = &sb.status()["plan"][0];
    assert_eq!((plan["window"].as_str(), plan["used_percentage"].as_f64()), (Some("five_hour"), Some(92.0)), "{plan}");
    assert_eq!((plan["age_minutes"].as_i64(), plan["current"].as_bool()), (Some(0), Some(true)));
    let reason = sb.pre_tool_use("s1").json()["stopReason"].as_str().unwrap().to_owned();
    assert_eq!(
        reason,
        format!(
            "ccbreaker: plan 5-hour window budget reached: the plan's 5-hour window is 92% used of a 90% plan 5-hour \
             window budget (budget.five_hour_pct). It resets when the window resets, at 2026-11-24 14:00 UTC; to go on \
             sooner, raise budget.five_hour_pct in {}.",
            sb.config.display()
        )
    );
    // A reading of a window that has reset since says nothing about the window now.
    let sb = Sandbox::new("scope-plan-old");
    sb.config("[budget]\nsession_usd = 0\ndaily_usd = 0\nfive_hour_pct = 90\n");
    sb.transcript("s1").lines(&sonnet("a", &[("2026-11-24T11:00:00Z", 0.5)]));
    sb.pre_tool_use("s1");
    let payload = json!({"session_id": "s1", "transcript_path": sb.transcript("s1").path,
        "rate_limits": {"five_hour": {"used_percentage": 99.0, "resets_at": "2026-11-24T11:30:00Z"}}});
    assert_eq!(sb.run(&["statusline"], payload.to_string().as_bytes()).code, 0);
    sb.pre_tool_use("s1").assert_silent_allow();
}
