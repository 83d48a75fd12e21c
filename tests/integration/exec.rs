//! `ccbreaker exec -- COMMAND`: the command's own exit code, or 3 and the block reason on stderr when ccbreaker
//! stopped a session the command started: identified by the run id its hooks inherit, never by time (a session
//! blocked beside the run, at the same moment, is not the run's).

use crate::harness::{BIN, Sandbox, chain};

/// A shell command that runs the hook for `session`'s PreToolUse, as a Claude Code started by the command would.
fn hook_call(sb: &Sandbox, session: &str) -> String {
    let event = sb.root.join(format!("{session}.event.json"));
    std::fs::write(&event, sb.event("PreToolUse", session).to_string()).unwrap();
    format!("{BIN} hook < {} > /dev/null", event.display())
}

#[test]
fn a_run_whose_session_ccbreaker_stopped_exits_3_with_the_reason() {
    let sb = Sandbox::new("exec-halted");
    sb.transcript("s1").lines(&chain("a", 3, 7.0));
    let script = format!("{}; echo the agent carried on; exit 0", hook_call(&sb, "s1"));
    let out = sb.run(&["exec", "--", "sh", "-c", &script], b"");
    let reason = format!(
        "ccbreaker: session budget reached: this session has spent $21.00 of its $20.00 budget. To go on, run `{BIN} \
         allow --session s1 --add-usd 20` in a terminal, or raise budget.session_usd in {}.",
        sb.config.display()
    );
    out.assert_is(
        3,
        "the agent carried on\n",
        &format!("ccbreaker: halted: session s1 was stopped by ccbreaker's hook at PreToolUse (2026-11-24T12:00:00Z): {reason}\n"),
    );
    assert!(std::fs::read_dir(sb.state.join("runs")).unwrap().next().is_none(), "the run's record is removed");
}

#[test]
fn otherwise_the_command_s_own_exit_code_comes_back() {
    let sb = Sandbox::new("exec-own-code");
    sb.transcript("s1").lines(&chain("a", 1, 1.0));
    // Blocked beside the run, at the same moment: not the run's session.
    sb.transcript("elsewhere").lines(&chain("e", 3, 7.0));
    assert_eq!(sb.pre_tool_use("elsewhere").json()["continue"], false);
    let script = format!("{}; exit 7", hook_call(&sb, "s1"));
    sb.run(&["exec", "--", "sh", "-c", &script], b"").assert_is(7, "", "");
    sb.run(&["exec", "--", "true"], b"").assert_is(0, "", "");
    sb.run(&["exec", "--", "sh", "-c", "kill -TERM $$"], b"").assert_is(143, "", "");
    let missing = sb.run(&["exec", "--", "/no/such/program"], b"");
    assert_eq!(missing.code, 1);
    assert!(missing.stderr.starts_with("ccbreaker: could not run `/no/such/program`: "), "{}", missing.stderr);
    sb.run(&["exec", "true"], b"").assert_is(
        64,
        "",
        "ccbreaker: `exec` needs the command after `--`: ccbreaker exec -- claude -p \"...\"\nRun `ccbreaker --help` for usage.\n",
    );
}

#[test]
fn a_run_id_exec_did_not_make_records_nothing() {
    let mut sb = Sandbox::new("exec-foreign-id");
    sb.transcript("s1").lines(&chain("a", 3, 7.0));
    sb.env("CCBREAKER_RUN_ID", "0123456789abcdef0123456789abcdef");
    assert_eq!(sb.pre_tool_use("s1").json()["continue"], false);
    sb.env("CCBREAKER_RUN_ID", "../../../../tmp/x");
    assert_eq!(sb.pre_tool_use("s1").json()["continue"], false);
    assert!(!sb.state.join("runs").exists());
}
