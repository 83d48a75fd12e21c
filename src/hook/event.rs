//! The hook's stdin: Claude Code's event JSON. Every field is optional (events differ, versions add fields);
//! unknown fields are ignored.

use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default)]
pub(crate) struct Event {
    pub session_id: Option<String>,
    pub transcript_path: Option<PathBuf>,
    pub cwd: Option<String>,
    pub hook_event_name: Option<String>,
    pub tool_name: Option<String>,
    /// Read as text by the tamper checks; any shape is accepted.
    pub tool_input: Option<serde_json::Value>,
    pub tool_use_id: Option<String>,
    /// Present when the event fires inside a subagent (whose `session_id` is its parent's).
    pub agent_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EventKind {
    PreToolUse,
    PostToolBatch,
    UserPromptSubmit,
    Stop,
    SubagentStop,
    /// Any other event: counted, never answered.
    Other,
}

impl EventKind {
    pub(crate) fn of(name: &str) -> EventKind {
        match name {
            "PreToolUse" => EventKind::PreToolUse,
            "PostToolBatch" => EventKind::PostToolBatch,
            "UserPromptSubmit" => EventKind::UserPromptSubmit,
            "Stop" => EventKind::Stop,
            "SubagentStop" => EventKind::SubagentStop,
            _ => EventKind::Other,
        }
    }

    /// Events whose answer can stop spending. Stop and SubagentStop are never blocked: there, a block means
    /// "keep going".
    pub(crate) fn can_block(self) -> bool {
        matches!(self, EventKind::PreToolUse | EventKind::PostToolBatch | EventKind::UserPromptSubmit)
    }
}

/// The largest stdin accepted: an event is a few KB; tool inputs can be large, but not this large.
pub(crate) const MAX_STDIN: usize = 64 << 20;

#[derive(Debug, thiserror::Error, PartialEq)]
pub(crate) enum EventError {
    #[error("hook input on stdin is empty (Claude Code sends the event as JSON)")]
    Empty,
    #[error("hook input on stdin is larger than {} MiB", MAX_STDIN >> 20)]
    TooLarge,
    #[error("hook input on stdin is not a valid event: {0}")]
    Invalid(String),
}

impl Event {
    pub(crate) fn parse(stdin: &[u8]) -> Result<Event, EventError> {
        if stdin.len() > MAX_STDIN {
            return Err(EventError::TooLarge);
        }
        if stdin.iter().all(u8::is_ascii_whitespace) {
            return Err(EventError::Empty);
        }
        serde_json::from_slice(stdin).map_err(|err| EventError::Invalid(err.to_string()))
    }

    pub(crate) fn kind(&self) -> EventKind {
        EventKind::of(self.hook_event_name.as_deref().unwrap_or(""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_subagent_pre_tool_use() {
        let e = Event::parse(br#"{"session_id":"s","transcript_path":"/p/s.jsonl","cwd":"/w","hook_event_name":"PreToolUse","agent_id":"a1","tool_name":"Bash","tool_input":{"command":"ls"},"tool_use_id":"t","effort":{"level":"high"}}"#).unwrap();
        assert_eq!(e.kind(), EventKind::PreToolUse);
        assert_eq!(e.agent_id.as_deref(), Some("a1"));
        assert_eq!(e.tool_use_id.as_deref(), Some("t"));
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert_eq!(Event::parse(b" \n"), Err(EventError::Empty));
        assert!(matches!(Event::parse(b"not json"), Err(EventError::Invalid(_))));
        assert!(matches!(Event::parse(b"[1]"), Err(EventError::Invalid(_))));
        assert!(matches!(Event::parse(br#"{"session_id": 5}"#), Err(EventError::Invalid(_))));
        assert_eq!(Event::parse(b"{}").unwrap().kind(), EventKind::Other);
        assert_eq!(Event::parse(br#"{"hook_event_name":"Nope"}"#).unwrap().kind(), EventKind::Other);
    }
}
