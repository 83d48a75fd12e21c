//! One assistant line of a transcript turned into a [`Response`]: which API response it belongs to (for
//! de-duplication), the model, the usage and when it happened. Lines that carry no usage are not responses.
//!
//! Only the fields a response is made of are decoded, from the raw values the scanner found; each must have its
//! JSON type or the line is malformed. The rest of the line (the content above all, most of its bytes) is only
//! checked for balanced brackets and strings, which is what tells a torn write from a whole line.

use super::reading::{Part, Priced, Rank, Reading};
use super::scan::{Raw, fields, items, top_level};
use crate::usage::{SYNTHETIC_MODEL, Usage};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::borrow::Cow;

/// Identifies one API response across lines and files: hashes of `message.id` and `requestId`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct ResponseKey {
    pub message: u64,
    pub request: u64,
}

/// One API response as its lines tell it: which response (for de-duplication), the costliest of its lines'
/// readings (see [`super::reading`]), whether its final record was written, and where it sits in its file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Response {
    pub key: ResponseKey,
    pub reading: Reading,
    /// The price of `reading` (set by the fold, which prices every line to rank them).
    pub priced: Priced,
    /// One of its lines is the request's final record: it names a stop reason or lists the usage's `iterations`.
    pub finished: bool,
    /// Written by a client that writes a final record for every finished request (Claude Code 2.1.177 and later):
    /// without one, only a streaming snapshot of the response is on disk.
    pub final_records: bool,
    /// Written by a subagent (or a sidechain replay of the parent's messages).
    pub sidechain: bool,
    /// Its `parentUuid` is not the line before it in the same file: a copy from another file (resume, replay).
    pub detached: bool,
    pub session_id: Option<String>,
    /// Ids of the `tool_use` blocks on this line: a hook waiting for the response that issued its call looks here.
    pub tool_uses: Vec<String>,
    /// Its lines disagreed on the model or the prompt's tokens: what to say about it.
    pub disagreement: Option<String>,
    /// Where it was made: the line's `cwd` and `gitBranch` (for the project budgets).
    pub cwd: Option<String>,
    pub git_branch: Option<String>,
}

impl Response {
    /// Claude Code never wrote the final usage of this response (CC #84223): what is counted is a lower bound.
    pub(crate) fn incomplete(&self) -> bool {
        self.final_records && !self.finished
    }

    pub(crate) fn timestamp(&self) -> DateTime<Utc> {
        self.reading.timestamp
    }

    pub(crate) fn rank(&self) -> Rank {
        self.reading.rank(&self.priced)
    }
}

/// The first Claude Code version known to write a final record (stop reason, `iterations`) for every request it
/// finishes; older versions wrote growing snapshots, the last of which is the final usage.
const FINAL_RECORDS_SINCE: (u32, u32, u32) = (2, 1, 177);

/// Whether a line's `version` is one that writes final records.
fn writes_final_records(version: Option<&str>) -> bool {
    let Some(version) = version else { return false };
    let mut parts = version.trim().split('.').map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten(), parts.next().flatten()) {
        (Some(major), Some(minor), Some(patch)) => (major, minor, patch) >= FINAL_RECORDS_SINCE,
        _ => false,
    }
}

/// Why an assistant line was not turned into a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Skip {
    /// No `message.usage`: not a billed response (a `<synthetic>` one, or one a mod answered without a request).
    NoUsage,
    /// Not valid JSON, wrong types, or no usable timestamp.
    Malformed,
}

/// Whether to collect the ids of a response's `tool_use` blocks: the hook needs them (to wait for the response
/// that issued its call), reports do not, and skipping them spares a second parse of the content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ToolUses {
    Collect,
    Skip,
}

/// A JSON string, borrowed from the line unless it has escapes.
#[derive(Deserialize)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

#[derive(Deserialize)]
struct Block<'a> {
    #[serde(rename = "type", borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    id: Option<Cow<'a, str>>,
}

/// The usage fields a price depends on, as written.
#[derive(Default)]
struct RawUsage<'a> {
    /// The advisor's share (`iterations[]` entries of type `advisor_message`), and whether `iterations` was there.
    advisor: Vec<Part>,
    iterations: bool,
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
    ephemeral_5m_input_tokens: Option<u64>,
    ephemeral_1h_input_tokens: Option<u64>,
    web_search_requests: Option<u64>,
    speed: Option<Cow<'a, str>>,
    inference_geo: Option<Cow<'a, str>>,
}

/// Parses an assistant line. `previous_uuid` is the `uuid` of the last line before it in the same file.
pub(crate) fn parse_response(line: &[u8], previous_uuid: Option<&str>, tool_uses: ToolUses) -> Result<Response, Skip> {
    let top = top_level(line).ok_or(Skip::Malformed)?;
    parse_scanned(line, &top.raw, previous_uuid, tool_uses)
}

/// [`parse_response`] for a line [`top_level`] already read: only the fields a response is made of are decoded
/// (each must have its JSON type, or the line is malformed); the rest of the line, content included, is not.
pub(crate) fn parse_scanned(
    line: &[u8],
    raw: &Raw,
    previous_uuid: Option<&str>,
    tool_uses: ToolUses,
) -> Result<Response, Skip> {
    // A step a mod answered itself (`"answeredWithoutRequest": true`, zero usage, no `requestId`) never reached
    // the API: it is not a response, whatever its usage says.
    if raw.answered_without_request == Some(b"true") {
        return Err(Skip::NoUsage);
    }
    let request_id = text(raw.request_id)?;
    let timestamp = text(raw.timestamp)?;
    let is_sidechain: Option<bool> = decode(raw.is_sidechain)?;
    let parent_uuid = text(raw.parent_uuid)?;
    let uuid = text(raw.uuid)?;
    let session_id = text(raw.session_id)?;
    let version = text(raw.version)?;
    // Where the line was written never decides whether it counts: a value of another type is ignored.
    let cwd = text(raw.cwd).ok().flatten();
    let git_branch = text(raw.git_branch).ok().flatten();
    let message = match (raw.message, raw.message_fields) {
        (None | Some(b"null"), _) => return Err(Skip::NoUsage),
        (Some(_), Some(fields)) => fields,
        (Some(_), None) => return Err(Skip::Malformed),
    };
    let id = text(message.id)?;
    let model = text(message.model)?;
    let stop_reason = text(message.stop_reason)?;
    let mut raw = read_usage(message.usage)?.ok_or(Skip::NoUsage)?;
    let model = model.as_deref().unwrap_or("").trim();
    if model == SYNTHETIC_MODEL {
        return Err(Skip::NoUsage);
    }
    let timestamp = timestamp
        .as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .ok_or(Skip::Malformed)?;
    let usage = usage_of(&raw);
    let key = key_of(id.as_deref(), request_id.as_deref(), uuid.as_deref(), line);
    let detached = match (parent_uuid.as_deref(), previous_uuid) {
        (None, _) => false,
        (Some(parent), Some(previous)) => parent != previous,
        (Some(_), None) => true,
    };
    Ok(Response {
        key,
        reading: Reading {
            model: if model.is_empty() { "unknown".to_owned() } else { model.to_owned() },
            usage,
            fast: raw.speed.as_deref() == Some("fast"),
            inference_geo: raw.inference_geo.take().map(Cow::into_owned).filter(|g| !g.is_empty()),
            advisor: std::mem::take(&mut raw.advisor),
            timestamp,
        },
        priced: Priced::default(),
        finished: stop_reason.is_some_and(|r| !r.is_empty()) || raw.iterations,
        final_records: writes_final_records(version.as_deref()),
        sidechain: is_sidechain.unwrap_or(false),
        detached,
        session_id: session_id.map(Cow::into_owned),
        tool_uses: match (tool_uses, message.content) {
            (ToolUses::Collect, Some(content)) => tool_uses_of(content),
            _ => Vec::new(),
        },
        disagreement: None,
        cwd: cwd.map(Cow::into_owned).filter(|c| !c.is_empty()),
        git_branch: git_branch.map(Cow::into_owned).filter(|b| !b.is_empty()),
    })
}

/// `message.usage` (absent or null: `None`): the token counts, the cache-write breakdown, web searches, speed,
/// inference region and the advisor's iterations. Other members are not read.
fn read_usage(raw: Option<&[u8]>) -> Result<Option<RawUsage<'_>>, Skip> {
    let Some(raw) = raw.filter(|r| *r != b"null") else { return Ok(None) };
    let [input, output, creation, read, breakdown, server_tools, speed, geo, iterations] = fields(
        raw,
        [
            b"input_tokens",
            b"output_tokens",
            b"cache_creation_input_tokens",
            b"cache_read_input_tokens",
            b"cache_creation",
            b"server_tool_use",
            b"speed",
            b"inference_geo",
            b"iterations",
        ],
    )
    .ok_or(Skip::Malformed)?;
    let mut usage = RawUsage {
        input_tokens: count(input)?,
        output_tokens: count(output)?,
        cache_creation_input_tokens: count(creation)?,
        cache_read_input_tokens: count(read)?,
        speed: text(speed)?,
        inference_geo: text(geo)?,
        ..RawUsage::default()
    };
    read_breakdown(&mut usage, breakdown)?;
    if let Some(server_tools) = server_tools.filter(|s| *s != b"null") {
        let [searches] = fields(server_tools, [b"web_search_requests"]).ok_or(Skip::Malformed)?;
        usage.web_search_requests = count(searches)?;
    }
    if let Some(iterations) = iterations.filter(|i| *i != b"null") {
        usage.iterations = true;
        for item in items(iterations).ok_or(Skip::Malformed)? {
            if let Some(part) = advisor_part(item)? {
                usage.advisor.push(part);
            }
        }
    }
    Ok(Some(usage))
}

/// The 5-minute/1-hour breakdown of cache writes, if written.
fn read_breakdown<'a>(usage: &mut RawUsage<'a>, breakdown: Option<&'a [u8]>) -> Result<(), Skip> {
    if let Some(breakdown) = breakdown.filter(|b| *b != b"null") {
        let [five_min, one_hour] =
            fields(breakdown, [b"ephemeral_5m_input_tokens", b"ephemeral_1h_input_tokens"]).ok_or(Skip::Malformed)?;
        usage.ephemeral_5m_input_tokens = count(five_min)?;
        usage.ephemeral_1h_input_tokens = count(one_hour)?;
    }
    Ok(())
}

/// One entry of `usage.iterations`: the advisor's usage and model if it is an `advisor_message`, else `None` (the
/// response's own iterations are already in the top-level totals).
fn advisor_part(item: &[u8]) -> Result<Option<Part>, Skip> {
    let [kind, model, input, output, creation, read, breakdown] = fields(
        item,
        [
            b"type",
            b"model",
            b"input_tokens",
            b"output_tokens",
            b"cache_creation_input_tokens",
            b"cache_read_input_tokens",
            b"cache_creation",
        ],
    )
    .ok_or(Skip::Malformed)?;
    if text(kind)?.as_deref() != Some("advisor_message") {
        return Ok(None);
    }
    let mut raw = RawUsage {
        input_tokens: count(input)?,
        output_tokens: count(output)?,
        cache_creation_input_tokens: count(creation)?,
        cache_read_input_tokens: count(read)?,
        ..RawUsage::default()
    };
    read_breakdown(&mut raw, breakdown)?;
    let model = text(model)?.map(|m| m.trim().to_owned()).filter(|m| !m.is_empty());
    Ok(Some(Part { model: model.unwrap_or_else(|| "unknown".to_owned()), usage: usage_of(&raw) }))
}

/// A JSON whole number that fits in 64 bits (or null, or nothing); anything else makes the line malformed.
fn count(raw: Option<&[u8]>) -> Result<Option<u64>, Skip> {
    match raw {
        None | Some(b"null") => Ok(None),
        Some([b'0']) => Ok(Some(0)),
        Some(digits @ [b'1'..=b'9', ..]) if digits.iter().all(u8::is_ascii_digit) => digits
            .iter()
            .try_fold(0u64, |n, &d| n.checked_mul(10)?.checked_add(u64::from(d - b'0')))
            .map(Some)
            .ok_or(Skip::Malformed),
        Some(_) => Err(Skip::Malformed),
    }
}

/// A JSON string (or null, or nothing); anything else makes the line malformed. Strings without escapes or
/// control characters are borrowed as they are, without running the JSON decoder.
fn text(raw: Option<&[u8]>) -> Result<Option<Cow<'_, str>>, Skip> {
    match raw {
        Some([b'"', inner @ .., b'"']) if !inner.iter().any(|&c| c == b'\\' || c < 0x20) => {
            std::str::from_utf8(inner).map(|s| Some(Cow::Borrowed(s))).map_err(|_| Skip::Malformed)
        }
        _ => Ok(decode::<Text>(raw)?.map(|t| t.0)),
    }
}

/// Decodes a raw JSON value (absent or null: `None`); a value of the wrong type makes the line malformed.
fn decode<'a, T: Deserialize<'a>>(raw: Option<&'a [u8]>) -> Result<Option<T>, Skip> {
    match raw {
        None => Ok(None),
        Some(raw) => serde_json::from_slice::<Option<T>>(raw).map_err(|_| Skip::Malformed),
    }
}

/// The ids of `tool_use` blocks in a message's content (a list of blocks; a plain string has none).
fn tool_uses_of(content: &[u8]) -> Vec<String> {
    let Ok(raw) = std::str::from_utf8(content) else { return Vec::new() };
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
    let one_hour = raw.ephemeral_1h_input_tokens.unwrap_or(0);
    let five_min = raw.ephemeral_5m_input_tokens.unwrap_or(0);
    let total = raw.cache_creation_input_tokens.unwrap_or(0).max(five_min + one_hour);
    Usage {
        input_tokens: raw.input_tokens.unwrap_or(0),
        output_tokens: raw.output_tokens.unwrap_or(0),
        cache_creation_5m_tokens: total - one_hour,
        cache_creation_1h_tokens: one_hour,
        cache_read_tokens: raw.cache_read_input_tokens.unwrap_or(0),
        web_search_requests: raw.web_search_requests.unwrap_or(0),
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
pub(crate) fn hash(bytes: &[u8]) -> u64 {
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
        assert_eq!(r.reading.model, "claude-haiku-4-5-20251001");
        assert_eq!(
            r.reading.usage,
            Usage {
                input_tokens: 10,
                output_tokens: 135,
                cache_creation_5m_tokens: 0,
                cache_creation_1h_tokens: 9907,
                cache_read_tokens: 22820,
                web_search_requests: 2
            }
        );
        assert!(!r.detached && !r.sidechain && !r.reading.fast);
        assert_eq!(r.reading.inference_geo.as_deref(), Some("not_available"));
        assert!(!r.finished && !r.final_records, "no stop reason, no version");
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
        assert_eq!(r.reading.usage.cache_creation_5m_tokens, 500);
        assert_eq!(r.reading.usage.cache_creation_1h_tokens, 0);
    }

    #[test]
    fn synthetic_and_usageless_lines_are_skipped() {
        let synthetic = r#"{"message":{"id":"m","model":"<synthetic>","usage":{"input_tokens":0,"output_tokens":0}},"timestamp":"2026-01-01T00:00:00Z"}"#;
        assert_eq!(parse_response(synthetic.as_bytes(), None, ToolUses::Collect), Err(Skip::NoUsage));
        let error = r#"{"type":"assistant","isApiErrorMessage":true,"message":{"model":"<synthetic>","content":[]}}"#;
        assert_eq!(parse_response(error.as_bytes(), None, ToolUses::Collect), Err(Skip::NoUsage));
    }

    /// The line Claude Code 2.1.331 writes for a model request a mod's `turn.step` hook answered itself (captured,
    /// content shortened): a model, zero usage, a stop reason, no `requestId`. Nothing was sent.
    #[test]
    fn a_step_a_mod_answered_without_a_request_is_no_response() {
        let answered = r#"{"parentUuid":"p","isSidechain":false,"type":"assistant","uuid":"u","timestamp":"2026-11-30T07:02:18.295Z","message":{"id":"msg_hook_4d1e630c","model":"claude-opus-5-5","role":"assistant","stop_reason":"end_turn","type":"message","usage":{"input_tokens":0,"output_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"server_tool_use":{"web_search_requests":0,"web_fetch_requests":0},"service_tier":null,"cache_creation":{"ephemeral_1h_input_tokens":0,"ephemeral_5m_input_tokens":0},"iterations":null},"content":[{"type":"text","text":"ccbreaker: session budget reached"}]},"isApiErrorMessage":false,"isUnmetered":true,"answeredWithoutRequest":true,"sessionId":"s","version":"2.1.331"}"#;
        assert_eq!(parse_response(answered.as_bytes(), Some("p"), ToolUses::Collect), Err(Skip::NoUsage));
        // The same line without the flag is a (free) response: the flag alone decides.
        let flagless = answered.replace(r#""answeredWithoutRequest":true,"#, "");
        assert!(parse_response(flagless.as_bytes(), Some("p"), ToolUses::Collect).is_ok());
        let falsy = answered.replace(r#""answeredWithoutRequest":true"#, r#""answeredWithoutRequest":false"#);
        assert!(parse_response(falsy.as_bytes(), Some("p"), ToolUses::Collect).is_ok());
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
    fn only_the_fields_read_must_be_valid() {
        // Content that is not quite JSON, or not UTF-8, does not stop a response from being billed.
        let odd = LINE.replace(r#""id":"msg_1","#, r#""id":"msg_1","content":[tru, 1.2.3],"#);
        assert!(parse_response(odd.as_bytes(), Some("p1"), ToolUses::Collect).is_ok());
        let mut bytes = LINE.replace(r#""id":"msg_1","#, r#""id":"msg_1","content":"xx","#).into_bytes();
        let at = bytes.windows(2).position(|w| w == b"xx").unwrap();
        bytes[at] = 0xff;
        assert_eq!(parse_response(&bytes, Some("p1"), ToolUses::Collect).unwrap().reading.usage.output_tokens, 135);
        // A field that is read must have its type.
        let sidechain = LINE.replace(r#""isSidechain":false"#, r#""isSidechain":"no""#);
        assert_eq!(parse_response(sidechain.as_bytes(), Some("p1"), ToolUses::Skip), Err(Skip::Malformed));
        let request = LINE.replace(r#""requestId":"req_1""#, r#""requestId":7"#);
        assert_eq!(parse_response(request.as_bytes(), Some("p1"), ToolUses::Skip), Err(Skip::Malformed));
        // Escaped strings are decoded; of repeated keys the last one counts.
        let escaped =
            LINE.replace(r#""model":"claude-haiku-4-5-20251001""#, r#""model":"claude-\u0068aiku","model":"x\"y""#);
        assert_eq!(parse_response(escaped.as_bytes(), Some("p1"), ToolUses::Skip).unwrap().reading.model, "x\"y");
        let null = LINE.replace(r#""requestId":"req_1""#, r#""requestId":null"#);
        assert_eq!(parse_response(null.as_bytes(), Some("p1"), ToolUses::Skip).unwrap().key.request, hash(b""));
    }

    #[test]
    fn fast_mode_is_read() {
        let line = LINE.replace(r#""speed":"standard""#, r#""speed":"fast""#);
        assert!(parse_response(line.as_bytes(), Some("p1"), ToolUses::Collect).unwrap().reading.fast);
    }

    #[test]
    fn advisor_iterations_and_final_records_are_read() {
        let line = LINE.replace(
            r#""speed":"standard""#,
            r#""speed":"standard","iterations":[{"type":"message","input_tokens":10,"output_tokens":135},{"type":"advisor_message","model":"claude-opus-4-8","input_tokens":20000,"output_tokens":1000,"cache_read_input_tokens":5}]"#,
        )
        .replace(r#""sessionId":"s1""#, r#""sessionId":"s1","version":"2.1.331""#);
        let r = parse_response(line.as_bytes(), Some("p1"), ToolUses::Skip).unwrap();
        assert_eq!(r.reading.advisor.len(), 1);
        assert_eq!(r.reading.advisor[0].model, "claude-opus-4-8");
        assert_eq!(
            (r.reading.advisor[0].usage.input_tokens, r.reading.advisor[0].usage.output_tokens),
            (20_000, 1_000)
        );
        assert_eq!(r.reading.advisor[0].usage.cache_read_tokens, 5);
        assert!(r.finished && r.final_records && !r.incomplete(), "iterations make a final record");
        // A snapshot of a client that writes final records: no stop reason, no iterations.
        let snapshot = LINE.replace(r#""sessionId":"s1""#, r#""sessionId":"s1","version":"2.1.222""#);
        let s = parse_response(snapshot.as_bytes(), Some("p1"), ToolUses::Skip).unwrap();
        assert!(s.incomplete());
        let stopped = snapshot.replace(r#""id":"msg_1","#, r#""id":"msg_1","stop_reason":"tool_use","#);
        assert!(!parse_response(stopped.as_bytes(), Some("p1"), ToolUses::Skip).unwrap().incomplete());
        let old = LINE.replace(r#""sessionId":"s1""#, r#""sessionId":"s1","version":"2.1.119""#);
        assert!(!parse_response(old.as_bytes(), Some("p1"), ToolUses::Skip).unwrap().incomplete());
        assert!(writes_final_records(Some("2.1.177")) && !writes_final_records(Some("2.1.99")));
        assert!(writes_final_records(Some("3.0.0")) && !writes_final_records(Some("x")));
    }
}
