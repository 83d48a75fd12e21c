//! What an audit needs to know of one transcript file beyond what reports keep: every request with its usage and
//! price, the tool calls each request issued (name, normalised input, the file it reads or writes), the tool
//! results (size, error flag), the user and system text sent, compaction boundaries and API errors, each placed
//! among the requests by index, so that "what came after it" is a slice.
//!
//! The lines are folded into requests by the same [`Fold`] as the hook and reports, so the requests (and their
//! prices) are exactly the ones a report counts; the rest is read from the same lines in the same pass.

use crate::pricing::PriceTable;
use crate::transcript::ResponseKey;
use crate::transcript::fold::{Fold, Seen};
use crate::transcript::line::{ToolUses, hash};
use crate::transcript::scan::{fields, objects};
use crate::usage::{Pico, Usage};
use chrono::DateTime;
use memchr::memmem;
use serde_json::Value;
use std::collections::HashMap;

/// One transcript file: a main session's context or one subagent's.
#[derive(Debug, Clone, Default)]
pub(crate) struct Thread {
    pub path: String,
    pub session: String,
    pub project: String,
    pub subagent: bool,
    /// A compaction request's own file (`agent-acompact-*.jsonl`).
    pub compaction: bool,
    pub models: Vec<String>,
    pub requests: Vec<Request>,
    pub calls: Vec<Call>,
    pub results: Vec<ToolResult>,
    pub texts: Vec<Text>,
    pub boundaries: Vec<Boundary>,
    pub api_errors: Vec<ApiError>,
    /// Per gap (indexed like [`ToolResult::before`]): bytes of every result and text that arrived in it.
    pub gap_bytes: Vec<u64>,
    /// Per lane (see [`Thread::split`]), the gaps' bytes while the file is one.
    lane_gaps: Vec<Vec<u64>>,
}

impl Thread {
    /// The file's contexts, each a thread of its own: the main conversation (lane 0) and each subagent written
    /// inline with `isSidechain: true` (old clients), in the order they appear. Indexes become the lane's own.
    pub(crate) fn split(mut self) -> Vec<Thread> {
        let lanes = self.requests.iter().map(|r| r.lane).chain(self.texts.iter().map(|t| t.lane)).max().unwrap_or(0);
        if lanes == 0 {
            self.gap_bytes = self.lane_gaps.first().cloned().unwrap_or_default();
            self.gap_bytes.resize(self.requests.len() + 1, 0);
            return vec![self];
        }
        let mut threads = Vec::new();
        for lane in 0..=lanes {
            let mut t = Thread {
                path: self.path.clone(),
                session: self.session.clone(),
                project: self.project.clone(),
                subagent: self.subagent || lane > 0,
                compaction: self.compaction,
                models: self.models.clone(),
                requests: self.requests.iter().filter(|r| r.lane == lane).copied().collect(),
                calls: self.calls.iter().filter(|c| c.lane == lane).cloned().collect(),
                results: self.results.iter().filter(|r| r.lane == lane).copied().collect(),
                texts: self.texts.iter().filter(|t| t.lane == lane).cloned().collect(),
                boundaries: self.boundaries.iter().filter(|b| b.lane == lane).cloned().collect(),
                api_errors: self.api_errors.iter().filter(|e| e.lane == lane).cloned().collect(),
                gap_bytes: self.lane_gaps.get(lane as usize).cloned().unwrap_or_default(),
                lane_gaps: Vec::new(),
            };
            if t.requests.is_empty() && t.results.is_empty() && t.texts.is_empty() {
                continue;
            }
            t.gap_bytes.resize(t.requests.len() + 1, 0);
            threads.push(t);
        }
        threads
    }
}

/// One API request (its response, folded from its lines).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Request {
    /// The context it belongs to within its file (see [`Thread::split`]).
    pub lane: u32,
    pub key: ResponseKey,
    pub at_ms: i64,
    /// 1-based line of the file where its first line is: the evidence a person can open.
    pub line: u32,
    /// Index into [`Thread::models`].
    pub model: u32,
    pub usage: Usage,
    pub cost: Pico,
    pub fast: bool,
    /// `inference_geo: "us"`, which costs 1.1x on the models that charge it.
    pub geo_us: bool,
    pub sidechain: bool,
    pub detached: bool,
    /// False for a copy that the duplicate rule counts elsewhere (set after all files are read).
    pub counted: bool,
}

/// A `tool_use` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Call {
    pub lane: u32,
    /// Index of the request (in its lane) whose response issued it.
    pub request: u32,
    pub line: u32,
    /// Hash of the `tool_use` id its result names.
    pub id: u64,
    pub name: String,
    /// Hash of the name and the normalised input (key order and white space do not matter).
    pub key: u64,
    /// A `Read`: hash of the path and the part read (offset, limit).
    pub read: Option<u64>,
    /// Hash of the file it reads or writes.
    pub path: Option<u64>,
    /// Files it changes: an edit's path, or files read earlier in this thread that a shell command names.
    pub writes: Vec<u64>,
    /// What a person reads as the evidence, e.g. "Read /src/main.rs" or "Bash: cargo test".
    pub label: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ToolResult {
    pub lane: u32,
    /// Hash of the `tool_use_id`.
    pub call: u64,
    /// How many requests came before it: it is first sent with request `before`.
    pub before: u32,
    pub line: u32,
    /// Size of its content as written (JSON).
    pub bytes: u64,
    pub error: bool,
}

/// A block of user or system text (a prompt, a reminder, a subagent's instructions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Text {
    pub lane: u32,
    pub before: u32,
    pub line: u32,
    pub at_ms: Option<i64>,
    pub hash: u64,
    pub bytes: u64,
    pub preview: String,
}

/// Where the context was compacted: requests from `before` on no longer carry what came earlier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Boundary {
    pub lane: u32,
    pub before: u32,
    pub at_ms: Option<i64>,
    pub trigger: Option<String>,
    pub pre_tokens: Option<u64>,
}

/// A request the API refused (the client's synthetic error line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub lane: u32,
    pub before: u32,
    pub line: u32,
    pub at_ms: Option<i64>,
    pub kind: String,
}

/// Text blocks smaller than this are not kept (only large blocks can be duplicate instructions worth a finding).
pub(crate) const MIN_TEXT_BYTES: u64 = 1_000;
/// Inputs larger than this are hashed as written rather than normalised.
const MAX_NORMALISED_INPUT: usize = 1 << 20;

/// Reads a file's lines one at a time into a [`Thread`] and, through the shared [`Fold`], its responses.
pub(crate) struct Extract<'p> {
    fold: Fold<'p>,
    thread: Thread,
    line: u32,
    /// Per response so far: its first line, its lane and its index in the lane.
    responses: Vec<(u32, u32, u32)>,
    /// Requests so far per lane.
    lane_counts: Vec<u32>,
    /// The lane of each sidechain line (by the hash of its `uuid`): its conversation, followed by `parentUuid`.
    sidechains: HashMap<u64, u32>,
    /// `message.id` of the last line read as a response, as written, and that response's index: a later line with the
    /// same id that carries no usage is part of it.
    last_message: (Vec<u8>, usize),
    /// Files read so far (their name and path hash): a shell command naming one may change it.
    read_files: Vec<(String, u64)>,
    /// A subagent's own file: one conversation, whatever its lines say.
    one_lane: bool,
    finders: Finders,
}

/// The byte strings looked for in lines, each searcher built once per file.
struct Finders {
    tool_use: memmem::Finder<'static>,
    api_error: memmem::Finder<'static>,
    compact_summary: memmem::Finder<'static>,
    boundary: memmem::Finder<'static>,
}

impl<'p> Extract<'p> {
    /// `subagent`: the file is a subagent's own (one conversation); `compaction`: a compaction request's; `prices`
    /// price its requests (through the fold).
    pub(crate) fn new(subagent: bool, compaction: bool, prices: &'p PriceTable) -> Extract<'p> {
        Extract {
            one_lane: subagent,
            finders: Finders {
                tool_use: memmem::Finder::new(b"\"tool_use\""),
                api_error: memmem::Finder::new(b"\"isApiErrorMessage\":true"),
                compact_summary: memmem::Finder::new(b"\"isCompactSummary\":true"),
                boundary: memmem::Finder::new(b"\"compact_boundary\""),
            },
            fold: Fold::new(None, ToolUses::Skip, prices),
            thread: Thread { compaction, ..Thread::default() },
            line: 0,
            responses: Vec::new(),
            lane_counts: vec![0],
            sidechains: HashMap::new(),
            last_message: (Vec::new(), 0),
            read_files: Vec::new(),
        }
    }

    /// Feeds one line (without its newline).
    pub(crate) fn line(&mut self, line: &[u8]) {
        self.line += 1;
        let before = self.fold.responses();
        let Some(Seen { line, top, response }) = self.fold.line_seen(line) else { return };
        let lane = self.lane(top.raw.is_sidechain, top.raw.parent_uuid, top.raw.uuid);
        if response.is_some_and(|i| i >= before) {
            self.responses.push((self.line, lane, self.lane_counts[lane as usize]));
            self.lane_counts[lane as usize] += 1;
        }
        let waiting = self.lane_counts[lane as usize];
        let content = top.raw.message_fields.and_then(|m| m.content);
        match top.kind {
            Some("assistant") => {
                let id = top.raw.message_fields.and_then(|m| m.id).unwrap_or_default();
                // The response the line is a reading of (wherever its other lines are), or the one just read.
                let response = match response {
                    Some(i) => {
                        self.last_message.0.clear();
                        self.last_message.0.extend_from_slice(id);
                        self.last_message.1 = i;
                        Some(i)
                    }
                    None if !id.is_empty() && id == self.last_message.0.as_slice() => Some(self.last_message.1),
                    None => None,
                };
                let request = response.and_then(|i| self.responses.get(i)).map(|r| (r.1, r.2));
                if let (Some((lane, request)), Some(content)) = (request, content)
                    && self.finders.tool_use.find(content).is_some()
                {
                    self.calls(lane, request, content);
                }
                if self.finders.api_error.find(line).is_some() {
                    let [error, status] = fields(line, [b"error", b"apiErrorStatus"]).unwrap_or_default();
                    let mut kind = error.and_then(string).unwrap_or_else(|| "error".to_owned());
                    if let Some(status) = status.filter(|s| *s != b"null") {
                        kind = format!("{kind} ({})", String::from_utf8_lossy(status));
                    }
                    let at_ms = top.raw.timestamp.and_then(millis);
                    self.thread.api_errors.push(ApiError { lane, before: waiting, line: self.line, at_ms, kind });
                }
            }
            Some("user") => {
                let at_ms = top.raw.timestamp;
                if self.finders.compact_summary.find(line).is_some() {
                    self.boundary(lane, waiting, at_ms.and_then(millis), None, None);
                    return;
                }
                match content {
                    Some(text @ [b'"', ..]) => self.text(lane, waiting, at_ms, text),
                    Some(blocks @ [b'[', ..]) => {
                        let keys = [&b"type"[..], b"tool_use_id", b"is_error", b"content", b"text"];
                        objects(blocks, keys, |[kind, id, error, inner, text]| match kind {
                            Some(b"\"tool_result\"") => {
                                let bytes = inner.map_or(0, |c| c.len() as u64);
                                self.gap(lane, waiting, bytes);
                                self.thread.results.push(ToolResult {
                                    lane,
                                    call: hash(id.unwrap_or_default()),
                                    before: waiting,
                                    line: self.line,
                                    bytes,
                                    error: error == Some(b"true"),
                                });
                            }
                            Some(b"\"text\"") => {
                                if let Some(text) = text {
                                    self.text(lane, waiting, at_ms, text);
                                }
                            }
                            _ => {}
                        });
                    }
                    _ => {}
                }
            }
            Some("system") if self.finders.boundary.find(line).is_some() => {
                let [meta] = fields(line, [b"compactMetadata"]).unwrap_or_default();
                let [trigger, pre] = meta.and_then(|m| fields(m, [b"trigger", b"preTokens"])).unwrap_or_default();
                let pre = pre.and_then(|p| std::str::from_utf8(p).ok()?.parse().ok());
                let at_ms = top.raw.timestamp.and_then(millis);
                self.boundary(lane, waiting, at_ms, trigger.and_then(string), pre);
            }
            _ => {}
        }
    }

    /// The lane of a line: 0 for the main conversation; a sidechain line (a subagent written inline, as clients
    /// before 2.1.2 did) joins the lane of its parent, or starts one.
    fn lane(&mut self, sidechain: Option<&[u8]>, parent: Option<&[u8]>, uuid: Option<&[u8]>) -> u32 {
        if self.one_lane || sidechain != Some(b"true") {
            return 0;
        }
        let parent = parent.filter(|p| *p != b"null").and_then(|p| self.sidechains.get(&hash(p)).copied());
        let lane = parent.unwrap_or_else(|| {
            self.lane_counts.push(0);
            (self.lane_counts.len() - 1) as u32
        });
        if let Some(uuid) = uuid {
            self.sidechains.insert(hash(uuid), lane);
        }
        lane
    }

    /// The file's facts (all lanes together) and the responses they were made from (for the report's summary). A
    /// request's usage is its own model's; its cost is the response's, its advisor's included.
    pub(crate) fn finish(mut self) -> (Thread, crate::transcript::fold::Folded) {
        let folded = self.fold.finish(Default::default());
        let thread = &mut self.thread;
        for (response, &(line, lane, _)) in folded.responses.iter().zip(&self.responses) {
            let reading = &response.reading;
            let model = match thread.models.iter().position(|m| *m == reading.model) {
                Some(i) => i,
                None => {
                    thread.models.push(reading.model.clone());
                    thread.models.len() - 1
                }
            };
            thread.requests.push(Request {
                lane,
                key: response.key,
                at_ms: response.timestamp().timestamp_millis(),
                line,
                model: model as u32,
                usage: reading.usage,
                cost: response.priced.cost,
                fast: reading.fast,
                geo_us: reading.inference_geo.as_deref() == Some("us"),
                sidechain: response.sidechain,
                detached: response.detached,
                counted: true,
            });
        }
        for (lane, gaps) in thread.lane_gaps.iter_mut().enumerate() {
            gaps.resize(self.lane_counts.get(lane).map_or(0, |n| *n as usize) + 1, 0);
        }
        (self.thread, folded)
    }

    fn gap(&mut self, lane: u32, before: u32, bytes: u64) {
        let lanes = &mut self.thread.lane_gaps;
        if lanes.len() <= lane as usize {
            lanes.resize(lane as usize + 1, Vec::new());
        }
        let gaps = &mut lanes[lane as usize];
        if gaps.len() <= before as usize {
            gaps.resize(before as usize + 1, 0);
        }
        gaps[before as usize] += bytes;
    }

    /// A text block; `at` is its line's raw timestamp (decoded only for a text that is kept).
    fn text(&mut self, lane: u32, before: u32, at: Option<&[u8]>, raw: &[u8]) {
        let bytes = raw.len() as u64;
        self.gap(lane, before, bytes);
        if bytes < MIN_TEXT_BYTES {
            return;
        }
        let at_ms = at.and_then(millis);
        let preview = string(raw).map(|t| one_line(&t, 70)).unwrap_or_default();
        self.thread.texts.push(Text { lane, before, line: self.line, at_ms, hash: hash(raw), bytes, preview });
    }

    fn boundary(
        &mut self,
        lane: u32,
        before: u32,
        at_ms: Option<i64>,
        trigger: Option<String>,
        pre_tokens: Option<u64>,
    ) {
        if self.thread.boundaries.last().is_some_and(|b| b.lane == lane && b.before == before) {
            return;
        }
        self.thread.boundaries.push(Boundary { lane, before, at_ms, trigger, pre_tokens });
    }

    fn calls(&mut self, lane: u32, request: u32, content: &[u8]) {
        let mut found = Vec::new();
        objects(content, [b"type", b"id", b"name", b"input"], |[kind, id, name, input]| {
            if kind == Some(b"\"tool_use\"") {
                found.push((id, name, input));
            }
        });
        for (id, name, input) in found {
            let name = name.and_then(string).unwrap_or_default();
            let raw = input.unwrap_or(b"null");
            let (key, parsed) = call_key(&name, raw);
            let field = |k: &str| parsed.as_ref().and_then(|v| v.get(k));
            let text = |k: &str| field(k).and_then(Value::as_str);
            let path = text("file_path").or_else(|| text("notebook_path"));
            let mut call = Call {
                lane,
                request,
                line: self.line,
                id: hash(id.unwrap_or_default()),
                key,
                read: None,
                path: path.map(|p| hash(p.as_bytes())),
                writes: Vec::new(),
                label: label(&name, parsed.as_ref(), raw),
                name,
            };
            match (call.name.as_str(), path) {
                ("Read" | "NotebookRead", Some(path)) => {
                    let part = format!("{path}\0{}\0{}", value_text(field("offset")), value_text(field("limit")));
                    call.read = Some(hash(part.as_bytes()));
                    let name = path.rsplit('/').next().unwrap_or(path).to_owned();
                    let path = hash(path.as_bytes());
                    if !self.read_files.iter().any(|(_, p)| *p == path) {
                        self.read_files.push((name, path));
                    }
                }
                ("Write" | "Edit" | "MultiEdit" | "NotebookEdit", Some(path)) => {
                    call.writes.push(hash(path.as_bytes()))
                }
                ("Bash", _) => {
                    let command = text("command").unwrap_or_default();
                    call.writes.extend(
                        self.read_files
                            .iter()
                            .filter(|(name, _)| name.len() >= 3 && command.contains(name))
                            .map(|f| f.1),
                    );
                }
                _ => {}
            }
            self.thread.calls.push(call);
        }
    }
}

/// A tool call's key: the hash of its name and its input as canonical text (key order and white space do not
/// matter), and the input parsed; an input too large or not JSON is hashed as written. The audit's loop finding
/// and the hook's loop breaker use the same key.
pub(crate) fn call_key(name: &str, raw: &[u8]) -> (u64, Option<Value>) {
    let parsed: Option<Value> = if raw.len() <= MAX_NORMALISED_INPUT { serde_json::from_slice(raw).ok() } else { None };
    let key = match &parsed {
        Some(value) => {
            let mut canonical = String::with_capacity(raw.len());
            canonical.push_str(name);
            canonical.push('\0');
            normalise(value, &mut canonical);
            hash(canonical.as_bytes())
        }
        None => hash(&[name.as_bytes(), b"\0", raw].concat()),
    };
    (key, parsed)
}

/// A JSON value as canonical text: object keys sorted, runs of white space in strings collapsed to one space.
fn normalise(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for key in keys {
                out.push_str(key);
                out.push(':');
                normalise(&map[key], out);
                out.push(',');
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for item in items {
                normalise(item, out);
                out.push(',');
            }
            out.push(']');
        }
        Value::String(s) => {
            out.push('"');
            for (i, word) in s.split_whitespace().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(word);
            }
            out.push('"');
        }
        other => out.push_str(&other.to_string()),
    }
}

fn value_text(value: Option<&Value>) -> String {
    value.map(Value::to_string).unwrap_or_default()
}

/// What a call did, in a few words: the evidence shown for it.
fn label(name: &str, input: Option<&Value>, raw: &[u8]) -> String {
    let text = |k: &str| input.and_then(|v| v.get(k)).and_then(Value::as_str);
    let what = match name {
        "Read" | "Write" | "Edit" | "MultiEdit" | "NotebookEdit" | "NotebookRead" => {
            let path = text("file_path").or_else(|| text("notebook_path")).unwrap_or_default().to_owned();
            match input.and_then(|v| v.get("offset")).and_then(Value::as_u64) {
                Some(offset) => format!("{path} from line {offset}"),
                None => path,
            }
        }
        "Bash" => text("command").unwrap_or_default().to_owned(),
        "Grep" | "Glob" => text("pattern").unwrap_or_default().to_owned(),
        "WebFetch" => text("url").unwrap_or_default().to_owned(),
        "WebSearch" => text("query").unwrap_or_default().to_owned(),
        "Task" | "Agent" => text("description").unwrap_or_default().to_owned(),
        _ => String::from_utf8_lossy(&raw[..raw.len().min(200)]).into_owned(),
    };
    one_line(&format!("{name} {what}"), 90)
}

/// `text` on one line, control characters replaced, cut to `max` characters with an ellipsis.
pub(crate) fn one_line(text: &str, max: usize) -> String {
    let mut out = String::new();
    for (i, word) in text.split_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.extend(word.chars().map(|c| if c.is_control() { ' ' } else { c }));
        if out.chars().count() > max {
            break;
        }
    }
    if out.chars().count() > max {
        out = out.chars().take(max.saturating_sub(1)).collect::<String>() + "…";
    }
    out
}

/// A raw JSON string, decoded; `None` for any other value.
fn string(raw: &[u8]) -> Option<String> {
    serde_json::from_slice::<String>(raw).ok()
}

/// A raw JSON RFC 3339 timestamp, as milliseconds since the epoch.
fn millis(raw: &[u8]) -> Option<i64> {
    let text = string(raw)?;
    DateTime::parse_from_rfc3339(&text).ok().map(|t| t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thread(lines: &[&str]) -> Thread {
        let prices = PriceTable::builtin();
        let mut extract = Extract::new(false, false, &prices);
        for line in lines {
            extract.line(line.as_bytes());
        }
        let mut threads = extract.finish().0.split();
        assert_eq!(threads.len(), 1);
        threads.remove(0)
    }

    const A1: &str = r#"{"type":"assistant","uuid":"a1","timestamp":"2026-11-24T10:00:00Z","requestId":"r1","message":{"id":"m1","model":"claude-sonnet-5","content":[{"type":"text","text":"hi"}],"usage":{"input_tokens":5,"output_tokens":10}}}"#;
    const A1B: &str = r#"{"type":"assistant","uuid":"a2","parentUuid":"a1","timestamp":"2026-11-24T10:00:00Z","requestId":"r1","message":{"id":"m1","model":"claude-sonnet-5","content":[{"type":"tool_use","id":"t1","name":"Read","input":{"file_path":"/src/a.rs"}},{"type":"tool_use","id":"t2","name":"Bash","input":{"command":"sed -i s/x/y/ a.rs","description":"edit"}}],"usage":{"input_tokens":5,"output_tokens":10}}}"#;
    const U1: &str = r#"{"type":"user","uuid":"u1","parentUuid":"a2","timestamp":"2026-11-24T10:00:01Z","message":{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"fn main() {}"},{"type":"tool_result","tool_use_id":"t2","content":"boom","is_error":true}]}}"#;

    #[test]
    fn calls_and_results_are_placed_among_the_requests() {
        let t = thread(&[A1, A1B, U1]);
        assert_eq!(t.requests.len(), 1);
        // Sonnet 5: 5 tokens in at $2 and 10 out at $10 per million.
        assert_eq!((t.requests[0].line, t.requests[0].cost), (1, Pico::from_usd(0.00011)));
        let names: Vec<_> = t.calls.iter().map(|c| (c.name.as_str(), c.request, c.line)).collect();
        assert_eq!(names, [("Read", 0, 2), ("Bash", 0, 2)]);
        assert_eq!(t.calls[0].label, "Read /src/a.rs");
        assert!(t.calls[0].read.is_some());
        // The shell command names a file read before: it may have changed it.
        assert_eq!(t.calls[1].writes, [hash(b"/src/a.rs")]);
        let results: Vec<_> = t.results.iter().map(|r| (r.call, r.before, r.bytes, r.error)).collect();
        assert_eq!(results, [(hash(br#""t1""#), 1, 14, false), (hash(br#""t2""#), 1, 6, true)]);
        assert_eq!(t.calls[0].id, hash(br#""t1""#), "a result names its call by the id as written");
        assert_eq!(t.gap_bytes, [0, 20]);
    }

    #[test]
    fn a_call_in_a_later_line_of_an_interleaved_response_is_its_responses() {
        // Response m2's line comes between m1's two lines: m1's tool call is still m1's (request 0).
        let a2 = A1.replace("\"a1\"", "\"b1\"").replace("\"r1\"", "\"r2\"").replace("\"m1\"", "\"m2\"");
        let t = thread(&[A1, &a2, A1B]);
        assert_eq!(t.requests.len(), 2);
        let calls: Vec<_> = t.calls.iter().map(|c| (c.name.as_str(), c.request, c.line)).collect();
        assert_eq!(calls, [("Read", 0, 3), ("Bash", 0, 3)]);
    }

    #[test]
    fn inputs_are_compared_without_key_order_or_white_space() {
        let with = |input: &str| {
            let line = A1B.replace(r#"{"file_path":"/src/a.rs"}"#, input);
            thread(&[&line]).calls[0].key
        };
        let a = with(r#"{"file_path":"/src/a.rs","limit":10}"#);
        assert_eq!(a, with(r#"{ "limit": 10, "file_path": "/src/a.rs" }"#));
        assert_ne!(a, with(r#"{"file_path":"/src/a.rs","limit":11}"#));
        let bash = |command: &str| {
            let line = A1B.replace("sed -i s/x/y/ a.rs", command);
            thread(&[&line]).calls[1].key
        };
        assert_eq!(bash("npm  test"), bash(" npm test"));
    }

    #[test]
    fn texts_boundaries_and_api_errors() {
        let big = "x".repeat(1_200);
        let prompt = format!(
            r#"{{"type":"user","uuid":"u0","timestamp":"2026-11-24T09:59:00Z","message":{{"role":"user","content":"{big}"}}}}"#
        );
        let boundary = r#"{"type":"system","subtype":"compact_boundary","timestamp":"2026-11-24T10:05:00Z","compactMetadata":{"trigger":"auto","preTokens":167731}}"#;
        let error = r#"{"type":"assistant","isApiErrorMessage":true,"error":"rate_limit","apiErrorStatus":429,"timestamp":"2026-11-24T10:06:00Z","message":{"model":"<synthetic>","content":[{"type":"text","text":"limit"}]}}"#;
        let t = thread(&[&prompt, A1, boundary, error]);
        assert_eq!(t.texts.len(), 1);
        assert_eq!((t.texts[0].before, t.texts[0].bytes, t.texts[0].at_ms.is_some()), (0, 1_202, true));
        assert!(t.texts[0].preview.ends_with('…'));
        assert_eq!(t.boundaries[0].before, 1);
        assert_eq!((t.boundaries[0].trigger.as_deref(), t.boundaries[0].pre_tokens), (Some("auto"), Some(167_731)));
        assert_eq!(t.api_errors[0].kind, "rate_limit (429)");
        assert_eq!(t.requests.len(), 1, "the synthetic line is no request");
    }
}
