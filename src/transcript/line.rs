//! One assistant line of a transcript turned into a [`Response`]: which API response it belongs to (for
//! de-duplication), the model, the usage and when it happened. Lines that carry no usage are not responses.

use crate::usage::Usage;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::borrow::Cow;

/// Identifies one API response across lines and files: hashes of `message.id` and `requestId`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResponseKey {
    pub message: u64,
    pub request: u64,
}

/// One assistant line's view of an API response.
#[derive(Debug, Clone, PartialEq)]
pub struct Response {
    pub key: ResponseKey,
    pub model: String,
    pub usage: Usage,
    pub fast: bool,
    pub inference_geo: Option<String>,
    pub timestamp: DateTime<Utc>,
    /// Written by a subagent (or a sidechain replay of the parent's messages).
    pub sidechain: bool,
    /// Its `parentUuid` is not the line before it in the same file: a copy from another file (resume, replay).
    pub detached: bool,
    pub session_id: Option<String>,
    /// Ids of the `tool_use` blocks on this line: a hook waiting for the response that issued its call looks here.
    pub tool_uses: Vec<String>,
}

/// Why an assistant line was not turned into a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// No `message.usage`: not a billed response (or a `<synthetic>` one).
    NoUsage,
    /// Not valid JSON, wrong types, or no usable timestamp.
    Malformed,
}

/// Whether to collect the ids of a response's `tool_use` blocks: the hook needs them (to wait for the response
/// that issued its call), reports do not, and skipping them spares a second parse of the content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolUses {
    Collect,
    Skip,
}

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow, default)]
    message: Option<Message<'a>>,
    #[serde(rename = "requestId", borrow, default)]
    request_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    timestamp: Option<Cow<'a, str>>,
    #[serde(rename = "isSidechain", default)]
    is_sidechain: Option<bool>,
    #[serde(rename = "parentUuid", borrow, default)]
    parent_uuid: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    uuid: Option<Cow<'a, str>>,
    #[serde(rename = "sessionId", borrow, default)]
    session_id: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    model: Option<Cow<'a, str>>,
    #[serde(default)]
    usage: Option<RawUsage<'a>>,
    #[serde(borrow, default)]
    content: Option<&'a serde_json::value::RawValue>,
}

#[derive(Deserialize)]
struct Block<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawUsage<'a> {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
    cache_creation: Option<CacheCreation>,
    server_tool_use: Option<ServerToolUse>,
    #[serde(borrow)]
    speed: Option<Cow<'a, str>>,
    #[serde(borrow)]
    inference_geo: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CacheCreation {
    ephemeral_5m_input_tokens: Option<u64>,
    ephemeral_1h_input_tokens: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ServerToolUse {
    web_search_requests: Option<u64>,
}

/// The model name Claude Code writes for messages it made up itself (errors, interruptions): never billed.
pub const SYNTHETIC_MODEL: &str = "<synthetic>";

/// Parses an assistant line. `previous_uuid` is the `uuid` of the last line before it in the same file.
pub fn parse_response(line: &[u8], previous_uuid: Option<&str>, tool_uses: ToolUses) -> Result<Response, Skip> {
    let parsed: Line = serde_json::from_slice(line).map_err(|_| Skip::Malformed)?;
    let message = parsed.message.ok_or(Skip::NoUsage)?;
    let raw = message.usage.ok_or(Skip::NoUsage)?;
    let model = message.model.as_deref().unwrap_or("").trim();
    if model == SYNTHETIC_MODEL {
        return Err(Skip::NoUsage);
    }
    let timestamp = parsed
        .timestamp
        .as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .ok_or(Skip::Malformed)?;
    let usage = usage_of(&raw);
    let key = key_of(message.id.as_deref(), parsed.request_id.as_deref(), parsed.uuid.as_deref(), line);
    let detached = match (parsed.parent_uuid.as_deref(), previous_uuid) {
        (None, _) => false,
        (Some(parent), Some(previous)) => parent != previous,
        (Some(_), None) => true,
    };
    Ok(Response {
        key,
        model: if model.is_empty() { "unknown".to_owned() } else { model.to_owned() },
        usage,
        fast: raw.speed.as_deref() == Some("fast"),
        inference_geo: raw.inference_geo.map(Cow::into_owned).filter(|g| !g.is_empty()),
        timestamp,
        sidechain: parsed.is_sidechain.unwrap_or(false),
        detached,
        session_id: parsed.session_id.map(Cow::into_owned),
        tool_uses: match (tool_uses, message.content) {
            (ToolUses::Collect, Some(content)) => tool_uses_of(content),
            _ => Vec::new(),
        },
    })
}

/// The ids of `tool_use` blocks in a message's content (a list of blocks; a plain string has none).
fn tool_uses_of(content: &serde_json::value::RawValue) -> Vec<String> {
    let raw = content.get();
    if !raw.starts_with('[') || !raw.contains("\"tool_use\"") {
        return Vec::new();
    }
    let blocks: Vec<Block> = serde_json::from_str(raw).unwrap_or_default();
    blocks
        .into_iter()
        .filter(|b| b.kind.as_deref() == Some("tool_use"))
        .filter_map(|b| b.id.map(Cow::into_owned))
        .collect()
}

/// Cache writes come as a total and, since mid-2025, a 5-minute/1-hour breakdown. The breakdown wins; a total
/// larger than the breakdown (or one without it) counts the rest as 5-minute writes.
fn usage_of(raw: &RawUsage) -> Usage {
    let breakdown = raw.cache_creation.as_ref();
    let one_hour = breakdown.and_then(|c| c.ephemeral_1h_input_tokens).unwrap_or(0);
    let five_min = breakdown.and_then(|c| c.ephemeral_5m_input_tokens).unwrap_or(0);
    let total = raw.cache_creation_input_tokens.unwrap_or(0).max(five_min + one_hour);
    Usage {
        input_tokens: raw.input_tokens.unwrap_or(0),
        output_tokens: raw.output_tokens.unwrap_or(0),
        cache_creation_5m_tokens: total - one_hour,
        cache_creation_1h_tokens: one_hour,
        cache_read_tokens: raw.cache_read_input_tokens.unwrap_or(0),
        web_search_requests: raw.server_tool_use.as_ref().and_then(|s| s.web_search_requests).unwrap_or(0),
    }
}

/// `message.id` + `requestId`; without a message id the line's `uuid` (copies keep it), and without either the
/// line itself, so it is never merged with another.
fn key_of(message_id: Option<&str>, request_id: Option<&str>, uuid: Option<&str>, line: &[u8]) -> ResponseKey {
    match (message_id.filter(|id| !id.is_empty()), uuid) {
        (Some(id), _) => {
            ResponseKey { message: hash(id.as_bytes()), request: hash(request_id.unwrap_or("").as_bytes()) }
        }
        (None, Some(uuid)) => ResponseKey { message: hash(uuid.as_bytes()), request: hash(b"uuid") },
        (None, None) => ResponseKey { message: hash(line), request: hash(b"line") },
    }
}

/// FNV-1a, 64 bit: stable across builds and platforms, which the on-disk key logs rely on.
pub fn hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"parentUuid":"p1","isSidechain":false,"message":{"model":"claude-haiku-4-5-20251001","id":"msg_1","usage":{"input_tokens":10,"cache_creation_input_tokens":9907,"cache_read_input_tokens":22820,"output_tokens":135,"server_tool_use":{"web_search_requests":2,"web_fetch_requests":0},"cache_creation":{"ephemeral_1h_input_tokens":9907,"ephemeral_5m_input_tokens":0},"inference_geo":"not_available","speed":"standard"}},"requestId":"req_1","type":"assistant","uuid":"u1","timestamp":"2026-08-20T10:21:56.220Z","sessionId":"s1"}"#;

    #[test]
    fn parses_a_current_line() {
        let r = parse_response(LINE.as_bytes(), Some("p1"), ToolUses::Collect).unwrap();
        assert_eq!(r.model, "claude-haiku-4-5-20251001");
        assert_eq!(
            r.usage,
            Usage {
                input_tokens: 10,
                output_tokens: 135,
                cache_creation_5m_tokens: 0,
                cache_creation_1h_tokens: 9907,
                cache_read_tokens: 22820,
                web_search_requests: 2
            }
        );
        assert!(!r.detached && !r.sidechain && !r.fast);
        assert_eq!(r.inference_geo.as_deref(), Some("not_available"));
        assert_eq!(r.key, ResponseKey { message: hash(b"msg_1"), request: hash(b"req_1") });
        assert_eq!(r.session_id.as_deref(), Some("s1"));
    }

    #[test]
    fn a_line_whose_parent_is_elsewhere_is_detached() {
        assert!(parse_response(LINE.as_bytes(), Some("other"), ToolUses::Collect).unwrap().detached);
        assert!(parse_response(LINE.as_bytes(), None, ToolUses::Collect).unwrap().detached);
    }

    #[test]
    fn cache_total_without_breakdown_is_five_minute() {
        let line = r#"{"message":{"id":"m","model":"x","usage":{"input_tokens":1,"cache_creation_input_tokens":500,"output_tokens":2}},"timestamp":"2026-01-01T00:00:00Z"}"#;
        let r = parse_response(line.as_bytes(), None, ToolUses::Collect).unwrap();
        assert_eq!(r.usage.cache_creation_5m_tokens, 500);
        assert_eq!(r.usage.cache_creation_1h_tokens, 0);
    }

    #[test]
    fn synthetic_and_usageless_lines_are_skipped() {
        let synthetic = r#"{"message":{"id":"m","model":"<synthetic>","usage":{"input_tokens":0,"output_tokens":0}},"timestamp":"2026-01-01T00:00:00Z"}"#;
        assert_eq!(parse_response(synthetic.as_bytes(), None, ToolUses::Collect), Err(Skip::NoUsage));
        let error = r#"{"type":"assistant","isApiErrorMessage":true,"message":{"model":"<synthetic>","content":[]}}"#;
        assert_eq!(parse_response(error.as_bytes(), None, ToolUses::Collect), Err(Skip::NoUsage));
    }

    #[test]
    fn malformed_lines_are_reported() {
        assert_eq!(parse_response(br#"{"message":{"id":"m"#, None, ToolUses::Collect), Err(Skip::Malformed));
        let wrong_type =
            r#"{"message":{"id":"m","model":"x","usage":{"input_tokens":"ten"}},"timestamp":"2026-01-01T00:00:00Z"}"#;
        assert_eq!(parse_response(wrong_type.as_bytes(), None, ToolUses::Collect), Err(Skip::Malformed));
        let no_time = r#"{"message":{"id":"m","model":"x","usage":{"input_tokens":1}}}"#;
        assert_eq!(parse_response(no_time.as_bytes(), None, ToolUses::Collect), Err(Skip::Malformed));
    }

    #[test]
    fn tool_use_ids_are_read() {
        let line = LINE.replace(
            r#""id":"msg_1","#,
            r#""id":"msg_1","content":[{"type":"text","text":"x"},{"type":"tool_use","id":"toolu_9","name":"Bash","input":{"id":"no"}}],"#,
        );
        assert_eq!(parse_response(line.as_bytes(), Some("p1"), ToolUses::Collect).unwrap().tool_uses, ["toolu_9"]);
        let text = LINE.replace(r#""id":"msg_1","#, r#""id":"msg_1","content":"tool_use as text","#);
        assert!(parse_response(text.as_bytes(), Some("p1"), ToolUses::Collect).unwrap().tool_uses.is_empty());
    }

    #[test]
    fn skipping_tool_uses_changes_nothing_else() {
        let line = LINE.replace(
            r#""id":"msg_1","#,
            r#""id":"msg_1","content":[{"type":"tool_use","id":"toolu_9","name":"Bash","input":{}}],"#,
        );
        let collected = parse_response(line.as_bytes(), Some("p1"), ToolUses::Collect).unwrap();
        let skipped = parse_response(line.as_bytes(), Some("p1"), ToolUses::Skip).unwrap();
        assert_eq!(Response { tool_uses: Vec::new(), ..collected }, skipped);
    }

    #[test]
    fn fast_mode_is_read() {
        let line = LINE.replace(r#""speed":"standard""#, r#""speed":"fast""#);
        assert!(parse_response(line.as_bytes(), Some("p1"), ToolUses::Collect).unwrap().fast);
    }
}
