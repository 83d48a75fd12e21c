//! The hook's stdin: Claude Code's event JSON. Only the few fields the hook needs are decoded, leniently; the rest
//! (the tool's input above all, which the agent writes) is skipped by its brackets, never built into values. So an
//! event the client sends is never refused for what it carries: a lone surrogate escape, nesting deeper than any
//! parser's recursion limit, a number too large for a float, or a wrong type in a field the hook does not read.

use crate::transcript::scan;
use std::path::PathBuf;

#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Event {
    pub session_id: Option<String>,
    pub transcript_path: Option<PathBuf>,
    pub cwd: Option<String>,
    pub hook_event_name: Option<String>,
    pub tool_name: Option<String>,
    /// The raw JSON of `tool_input`, read as text by the tamper checks (see [`ToolInput`]).
    pub tool_input: Option<Vec<u8>>,
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
    /// What ccbreaker's mod asks the gate (`ccbreaker gate`, see [`super::gate`]); answered in the gate's JSON.
    Mod(ModAsk),
}

/// What the mod asks about, by the function-hook event it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ModAsk {
    /// `turn.step`: a model request about to be sent.
    Step,
    /// `turn.step` finished: its usage, and its reservation is over (nothing to decide).
    StepEnd,
    /// `agent.spawn`: a subagent about to start.
    Spawn,
    /// `session.compact`: a compaction about to run.
    Compact,
    /// `http.fetch`: an engine send of `/v1/messages` that no step let through (a retry, a side request).
    Send,
}

impl ModAsk {
    /// The name the mod's request and the audit trail use.
    pub(crate) fn name(self) -> &'static str {
        match self {
            ModAsk::Step => "turn.step",
            ModAsk::StepEnd => "turn.step end",
            ModAsk::Spawn => "agent.spawn",
            ModAsk::Compact => "session.compact",
            ModAsk::Send => "http.fetch",
        }
    }
}

impl EventKind {
    pub(crate) fn of(name: &str) -> EventKind {
        match name {
            "PreToolUse" => EventKind::PreToolUse,
            "PostToolBatch" => EventKind::PostToolBatch,
            "UserPromptSubmit" => EventKind::UserPromptSubmit,
            "Stop" => EventKind::Stop,
            "SubagentStop" => EventKind::SubagentStop,
            "turn.step" => EventKind::Mod(ModAsk::Step),
            "turn.step end" => EventKind::Mod(ModAsk::StepEnd),
            "agent.spawn" => EventKind::Mod(ModAsk::Spawn),
            "session.compact" => EventKind::Mod(ModAsk::Compact),
            "http.fetch" => EventKind::Mod(ModAsk::Send),
            _ => EventKind::Other,
        }
    }

    /// Events whose answer can stop spending. Stop and SubagentStop are never blocked: there, a block means
    /// "keep going".
    pub(crate) fn can_block(self) -> bool {
        matches!(self, EventKind::PreToolUse | EventKind::PostToolBatch | EventKind::UserPromptSubmit)
            || matches!(self, EventKind::Mod(ask) if ask != ModAsk::StepEnd)
    }

    /// Asked by ccbreaker's mod, not by a command hook.
    pub(crate) fn is_mod(self) -> bool {
        matches!(self, EventKind::Mod(_))
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

const FIELDS: [&[u8]; 8] = [
    b"session_id",
    b"transcript_path",
    b"cwd",
    b"hook_event_name",
    b"tool_name",
    b"tool_use_id",
    b"agent_id",
    b"tool_input",
];

impl Event {
    pub(crate) fn parse(stdin: &[u8]) -> Result<Event, EventError> {
        if stdin.len() > MAX_STDIN {
            return Err(EventError::TooLarge);
        }
        if stdin.iter().all(u8::is_ascii_whitespace) {
            return Err(EventError::Empty);
        }
        let Some(found) = scan::small_fields(stdin, FIELDS) else {
            return Err(EventError::Invalid("it is not a JSON object".to_owned()));
        };
        let [session_id, transcript_path, cwd, hook_event_name, tool_name, tool_use_id, agent_id, tool_input] =
            found.map(|raw| raw.map(<[u8]>::trim_ascii));
        Ok(Event {
            session_id: string(session_id),
            transcript_path: string(transcript_path).map(PathBuf::from),
            cwd: string(cwd),
            hook_event_name: string(hook_event_name),
            tool_name: string(tool_name),
            tool_use_id: string(tool_use_id),
            agent_id: string(agent_id),
            tool_input: tool_input.filter(|raw| raw.first() == Some(&b'{')).map(<[u8]>::to_vec),
        })
    }

    pub(crate) fn kind(&self) -> EventKind {
        EventKind::of(self.hook_event_name.as_deref().unwrap_or(""))
    }
}

/// The text of a raw JSON string value; `None` if the value is not a string (a wrong type counts as absent).
/// Escapes that name no character (a lone surrogate) become U+FFFD, as the client itself does when it passes such
/// a string on to a process or a file name.
pub(crate) fn string(raw: Option<&[u8]>) -> Option<String> {
    let inner = raw?.strip_prefix(b"\"")?.strip_suffix(b"\"")?;
    if !inner.contains(&b'\\') {
        return Some(String::from_utf8_lossy(inner).into_owned());
    }
    let mut out = Vec::with_capacity(inner.len());
    let mut i = 0;
    while i < inner.len() {
        let c = inner[i];
        i += 1;
        if c != b'\\' {
            out.push(c);
            continue;
        }
        let Some(&e) = inner.get(i) else { break };
        i += 1;
        let simple = match e {
            b'"' => Some(b'"'),
            b'\\' => Some(b'\\'),
            b'/' => Some(b'/'),
            b'b' => Some(8),
            b'f' => Some(12),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            _ => None,
        };
        if let Some(byte) = simple {
            out.push(byte);
            continue;
        }
        if e != b'u' {
            out.extend_from_slice("\u{fffd}".as_bytes());
            continue;
        }
        let hex = |at: usize| {
            inner
                .get(at..at + 4)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u16::from_str_radix(h, 16).ok())
        };
        let Some(unit) = hex(i) else {
            out.extend_from_slice("\u{fffd}".as_bytes());
            continue;
        };
        i += 4;
        let low = (inner.get(i..i + 2) == Some(b"\\u")).then(|| hex(i + 2)).flatten();
        let ch = match (unit, low) {
            (0xd800..=0xdbff, Some(low @ 0xdc00..=0xdfff)) => {
                i += 6;
                char::from_u32(0x10000 + ((u32::from(unit) - 0xd800) << 10) + (u32::from(low) - 0xdc00))
            }
            _ => char::from_u32(u32::from(unit)),
        };
        let mut buf = [0; 4];
        out.extend_from_slice(ch.unwrap_or('\u{fffd}').encode_utf8(&mut buf).as_bytes());
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// A tool call's input, read lazily as text: only the members a check asks for are decoded.
pub(crate) struct ToolInput<'a> {
    raw: &'a [u8],
}

impl<'a> ToolInput<'a> {
    pub(crate) fn new(raw: &'a [u8]) -> ToolInput<'a> {
        ToolInput { raw }
    }

    /// The raw JSON value of the member `key`.
    pub(crate) fn raw(&self, key: &str) -> Option<&'a [u8]> {
        scan::small_fields(self.raw, [key.as_bytes()])?[0].map(<[u8]>::trim_ascii)
    }

    /// The member `key` if it is a string.
    pub(crate) fn text(&self, key: &str) -> Option<String> {
        string(self.raw(key))
    }

    /// The member `key` if it is `true`.
    pub(crate) fn flag(&self, key: &str) -> bool {
        self.raw(key) == Some(b"true")
    }

    /// The objects of the array member `key`, each as a tool input of its own.
    pub(crate) fn objects(&self, key: &str) -> Option<Vec<ToolInput<'a>>> {
        Some(scan::small_items(self.raw(key)?)?.into_iter().map(ToolInput::new).collect())
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
        let input = e.tool_input.unwrap();
        assert_eq!(ToolInput::new(&input).text("command").as_deref(), Some("ls"));
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert_eq!(Event::parse(b" \n"), Err(EventError::Empty));
        assert!(matches!(Event::parse(b"not json"), Err(EventError::Invalid(_))));
        assert!(matches!(Event::parse(b"[1]"), Err(EventError::Invalid(_))));
        assert_eq!(Event::parse(b"{}").unwrap().kind(), EventKind::Other);
        assert_eq!(Event::parse(br#"{"hook_event_name":"Nope"}"#).unwrap().kind(), EventKind::Other);
    }

    #[test]
    fn odd_content_is_read_around() {
        let deep = format!("{}{}", "[".repeat(130), "]".repeat(130));
        for input in [
            r#"{"command":"echo \ud800"}"#.to_owned(),
            format!(r#"{{"command":"ls","x":{deep}}}"#),
            r#"{"command":"ls","n":1e400}"#.to_owned(),
        ] {
            let event = format!(
                r#"{{"session_id":"s","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{input}}}"#
            );
            let e = Event::parse(event.as_bytes()).unwrap();
            assert_eq!(e.session_id.as_deref(), Some("s"), "{input}");
            assert!(ToolInput::new(e.tool_input.as_deref().unwrap()).text("command").is_some(), "{input}");
        }
        let wrong = Event::parse(br#"{"session_id":5,"transcript_path":"/p/s.jsonl","hook_event_name":"Stop"}"#);
        assert_eq!(wrong.unwrap().session_id, None, "a wrong type is absent");
    }

    #[test]
    fn strings_decode_like_json_with_lone_surrogates_replaced() {
        let s = |raw: &str| string(Some(raw.as_bytes())).unwrap();
        assert_eq!(s(r#""a\"b\\c\/d\n\u00e9\ud83d\ude00""#), "a\"b\\c/d\né😀");
        assert_eq!(s(r#""x\ud800y""#), "x\u{fffd}y");
        assert_eq!(s(r#""x\udc00""#), "x\u{fffd}");
        assert_eq!(s(r#""x\u12""#), "x\u{fffd}12");
        assert_eq!(string(Some(b"5")), None);
    }
}
