//! The hook's answer in Claude Code's protocol. Stdout carries only protocol JSON, stderr only a reason, and the
//! exit code is one of the named constants of [`crate::error::exit`].

use super::event::EventKind;
use crate::config::OnBreach;
use crate::error::exit;
use serde_json::{Value, json};

/// What the hook decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Action {
    Allow,
    /// Allow, and show the user this once.
    Warn(String),
    /// Refuse, with this reason (shown to the user and to the model).
    Block(String),
}

/// What the process prints and returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer {
    pub stdout: String,
    pub stderr: String,
    pub code: u8,
}

impl Answer {
    pub(crate) fn silent() -> Answer {
        Answer { stdout: String::new(), stderr: String::new(), code: exit::OK }
    }

    pub(crate) fn error(message: &str) -> Answer {
        Answer { stdout: String::new(), stderr: format!("ccbreaker: {message}\n"), code: exit::ERROR }
    }

    /// The reason a blocking answer gives (on stderr for exit 2, else in its JSON); what any other answer says.
    pub(crate) fn reason(&self) -> String {
        if self.code != exit::BLOCK
            && let Ok(value) = serde_json::from_str::<Value>(&self.stdout)
        {
            let found =
                [&value["stopReason"], &value["reason"], &value["hookSpecificOutput"]["permissionDecisionReason"]]
                    .into_iter()
                    .find_map(Value::as_str);
            if let Some(reason) = found {
                return reason.to_owned();
            }
        }
        self.stderr.trim().to_owned()
    }

    fn json(value: Value) -> Answer {
        Answer { stdout: format!("{value}\n"), stderr: String::new(), code: exit::OK }
    }
}

/// Renders `action` for `event` under `on_breach`. Events that cannot block (Stop, SubagentStop, others) are
/// always answered with silence: blocking Stop would tell Claude to keep going.
pub(crate) fn render(event: EventKind, action: &Action, on_breach: OnBreach) -> Answer {
    if event.is_mod() {
        return gate_answer(action);
    }
    match action {
        Action::Allow => Answer::silent(),
        Action::Warn(message) if event.can_block() => Answer::json(json!({ "systemMessage": message })),
        Action::Warn(_) => Answer::silent(),
        Action::Block(reason) if event.can_block() => block(event, reason, on_breach),
        Action::Block(_) => Answer::silent(),
    }
}

/// The gate's answer to ccbreaker's mod: `{"allow": true}` (with the warning or notice as `message`), or
/// `{"allow": false, "reason": R}`, which the mod turns into its refusal (whatever `on_breach` says: the request
/// costs money, the budget is reached). Anything else the mod reads as a refusal too.
fn gate_answer(action: &Action) -> Answer {
    match action {
        Action::Allow => Answer::json(json!({ "allow": true })),
        Action::Warn(message) => Answer::json(json!({ "allow": true, "message": message })),
        Action::Block(reason) => Answer::json(json!({ "allow": false, "reason": reason })),
    }
}

fn block(event: EventKind, reason: &str, on_breach: OnBreach) -> Answer {
    let deny = || {
        json!({
            "hookEventName": "PreToolUse",
            "permissionDecision": "deny",
            "permissionDecisionReason": reason,
        })
    };
    match (on_breach, event) {
        (OnBreach::ExitCode, _) => Answer { stdout: String::new(), stderr: format!("{reason}\n"), code: exit::BLOCK },
        (OnBreach::Stop, EventKind::PreToolUse) => {
            Answer::json(json!({ "continue": false, "stopReason": reason, "hookSpecificOutput": deny() }))
        }
        (OnBreach::Deny, EventKind::PreToolUse) => Answer::json(json!({ "hookSpecificOutput": deny() })),
        // "deny" refuses tool calls and nothing more: the model may still answer in words.
        (OnBreach::Deny, EventKind::PostToolBatch) => Answer::silent(),
        (OnBreach::Stop, EventKind::PostToolBatch) => Answer::json(json!({ "continue": false, "stopReason": reason })),
        _ => Answer::json(json!({ "decision": "block", "reason": reason })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(answer: &Answer) -> Value {
        serde_json::from_str(&answer.stdout).unwrap()
    }

    #[test]
    fn stop_on_pre_tool_use_denies_and_ends_the_turn() {
        let a = render(EventKind::PreToolUse, &Action::Block("over".into()), OnBreach::Stop);
        assert_eq!(a.code, exit::OK);
        assert_eq!(
            parsed(&a),
            json!({"continue": false, "stopReason": "over", "hookSpecificOutput": {"hookEventName": "PreToolUse",
                "permissionDecision": "deny", "permissionDecisionReason": "over"}})
        );
    }

    #[test]
    fn deny_only_denies() {
        let a = render(EventKind::PreToolUse, &Action::Block("over".into()), OnBreach::Deny);
        assert!(parsed(&a).get("continue").is_none());
        assert_eq!(parsed(&a)["hookSpecificOutput"]["permissionDecision"], "deny");
        assert_eq!(render(EventKind::PostToolBatch, &Action::Block("over".into()), OnBreach::Deny), Answer::silent());
        let prompt = render(EventKind::UserPromptSubmit, &Action::Block("over".into()), OnBreach::Deny);
        assert_eq!(parsed(&prompt), json!({"decision": "block", "reason": "over"}));
    }

    #[test]
    fn exit_code_mode_exits_2_with_the_reason_on_stderr() {
        let a = render(EventKind::UserPromptSubmit, &Action::Block("over".into()), OnBreach::ExitCode);
        assert_eq!((a.code, a.stdout.as_str(), a.stderr.as_str()), (exit::BLOCK, "", "over\n"));
    }

    #[test]
    fn prompts_and_batches_are_blocked_their_way() {
        let a = render(EventKind::UserPromptSubmit, &Action::Block("over".into()), OnBreach::Stop);
        assert_eq!(parsed(&a), json!({"decision": "block", "reason": "over"}));
        let a = render(EventKind::PostToolBatch, &Action::Block("over".into()), OnBreach::Stop);
        assert_eq!(parsed(&a), json!({"continue": false, "stopReason": "over"}));
    }

    #[test]
    fn stop_events_are_never_blocked() {
        for kind in [EventKind::Stop, EventKind::SubagentStop, EventKind::Other] {
            for mode in [OnBreach::Stop, OnBreach::Deny, OnBreach::ExitCode] {
                assert_eq!(render(kind, &Action::Block("over".into()), mode), Answer::silent());
            }
        }
    }

    #[test]
    fn the_mod_gets_the_gates_json_whatever_on_breach_says() {
        use crate::hook::event::ModAsk;
        for mode in [OnBreach::Stop, OnBreach::Deny, OnBreach::ExitCode] {
            let a = render(EventKind::Mod(ModAsk::Step), &Action::Block("over".into()), mode);
            assert_eq!((a.code, parsed(&a)), (exit::OK, json!({"allow": false, "reason": "over"})));
            let a = render(EventKind::Mod(ModAsk::Spawn), &Action::Allow, mode);
            assert_eq!(parsed(&a), json!({"allow": true}));
            let a = render(EventKind::Mod(ModAsk::Send), &Action::Warn("80%".into()), mode);
            assert_eq!(parsed(&a), json!({"allow": true, "message": "80%"}));
        }
    }

    #[test]
    fn warnings_are_system_messages() {
        let a = render(EventKind::PreToolUse, &Action::Warn("80%".into()), OnBreach::Stop);
        assert_eq!(parsed(&a), json!({"systemMessage": "80%"}));
    }
}
