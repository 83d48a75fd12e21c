//! One transcript's lines turned into its responses, by the rules the hook and the reports share so that they
//! count alike: the lines of one API response (one per content block, or streaming snapshots with a growing
//! `output_tokens`), wherever they are in what is read, fold into one response with the costliest reading
//! ([`super::reading`]), placed where its first line was; a torn write glued to a whole line keeps the whole line;
//! and every line's `uuid` is remembered, so the next response can tell whether it was written here (its parent is
//! the line before it) or copied in from another file (`detached`).

use super::line::{Skip, ToolUses, parse_scanned};
use super::scan::Raw;
use super::scan::{TopLevel, is_whole_object, may_carry_usage, top_level};
use super::tail::{self, Tail};
use super::{Response, ResponseKey};
use crate::pricing::{PriceTable, Resolved};
use std::collections::HashMap;
use std::fs::File;
use std::io;

/// What folding a run of lines gave.
#[derive(Debug, Default)]
pub(crate) struct Folded {
    /// In file order (of each response's first line), one per API response.
    pub responses: Vec<Response>,
    /// The `uuid` of the last line read: where the next read continues the chain.
    pub last_uuid: Option<String>,
    /// Lines that were not JSON objects (torn writes) or assistant lines with usage that would not parse.
    pub malformed: u64,
    /// The client's lines for requests the API refused: one per retried attempt (`"subtype":"api_error"` system
    /// lines) and one for a request it gave up on (`isApiErrorMessage`): when, and what kind.
    pub api_errors: Vec<ApiErrorLine>,
    pub tail: Tail,
}

/// A synthetic line for a request the API refused (a rate limit, an overload, a server error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiErrorLine {
    pub at_ms: i64,
    /// The error type and HTTP status: `rate_limit (429)`, `overloaded_error (529)`.
    pub kind: String,
}

/// How [`Fold::line_seen`] saw a line.
pub(crate) struct Seen<'l> {
    /// The line it kept: the whole line glued after a torn write, if that is what it found.
    pub line: &'l [u8],
    pub top: TopLevel<'l>,
    /// The response the line is a reading of (its index among the responses so far), if it is one.
    pub response: Option<usize>,
}

/// Folds lines fed one at a time, pricing each line's reading with `prices` to rank them.
#[derive(Debug)]
pub(crate) struct Fold<'p> {
    folded: Folded,
    tool_uses: ToolUses,
    prices: &'p PriceTable,
    /// Where each response read so far is in `folded.responses`.
    index: HashMap<ResponseKey, usize>,
    /// The prices of the models met so far (a file names a few).
    models: Vec<(String, Resolved)>,
}

impl<'p> Fold<'p> {
    /// `last_uuid`: the `uuid` of the line before the first one fed (`None` at the start of a file).
    pub(crate) fn new(last_uuid: Option<String>, tool_uses: ToolUses, prices: &'p PriceTable) -> Fold<'p> {
        Fold {
            folded: Folded { last_uuid, ..Folded::default() },
            tool_uses,
            prices,
            index: HashMap::new(),
            models: Vec::new(),
        }
    }

    /// Feeds one line (without its newline).
    pub(crate) fn line(&mut self, line: &[u8]) {
        self.line_seen(line);
    }

    /// [`Fold::line`], returning how it saw the line (see [`Seen`]), so that a caller reading more of the line does
    /// not scan it again.
    pub(crate) fn line_seen<'l>(&mut self, line: &'l [u8]) -> Option<Seen<'l>> {
        if line.iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        let (line, top) = match top_level(line) {
            Some(top) => (line, top),
            // A torn write followed, without a newline, by a whole line: keep the whole one.
            None => {
                self.folded.malformed += 1;
                recover_torn(line)?
            }
        };
        let mut response = None;
        if top.kind == Some("assistant") && top.has_message && may_carry_usage(line) {
            match parse_scanned(line, &top.raw, self.folded.last_uuid.as_deref(), self.tool_uses) {
                Ok(read) => response = Some(self.push(read, &top.raw)),
                Err(Skip::Malformed) => self.folded.malformed += 1,
                Err(Skip::NoUsage) => {}
            }
        }
        if response.is_none()
            && top.kind == Some("assistant")
            && memchr::memmem::find(line, b"\"isApiErrorMessage\":true").is_some()
            && let Some(error) = api_error(line, &top.raw)
        {
            self.folded.api_errors.push(error);
        }
        if top.kind == Some("system")
            && memchr::memmem::find(line, b"\"api_error\"").is_some()
            && let Some(error) = retried_api_error(line, &top.raw)
        {
            self.folded.api_errors.push(error);
        }
        if let Some(uuid) = top.uuid {
            match &mut self.folded.last_uuid {
                Some(last) => {
                    last.clear();
                    last.push_str(uuid);
                }
                None => self.folded.last_uuid = Some(uuid.to_owned()),
            }
        }
        Some(Seen { line, top, response })
    }

    /// How many responses the lines fed so far made.
    pub(crate) fn responses(&self) -> usize {
        self.folded.responses.len()
    }

    pub(crate) fn finish(self, tail: Tail) -> Folded {
        Folded { tail, ..self.folded }
    }

    /// Adds one line's response: a new response, or another line of one already read, which keeps the costliest of
    /// the two readings and the first line's place (see [`merge`]). Returns its index in the responses.
    fn push(&mut self, mut response: Response, raw: &Raw) -> usize {
        let responses = &mut self.folded.responses;
        let at = self.index.get(&response.key).copied();
        // Claude Code repeats a response's usage on each of its lines: a line that reads as the kept one needs no
        // price of its own.
        let same = at.is_some_and(|at| responses[at].reading.same_as(&response.reading));
        response.priced = match at {
            Some(at) if same => responses[at].priced,
            _ => {
                let (prices, models) = (self.prices, &mut self.models);
                response.reading.price_with(&mut |model| match models.iter().find(|(m, _)| m == model) {
                    Some((_, resolved)) => *resolved,
                    None => {
                        let resolved = prices.resolve(model);
                        models.push((model.to_owned(), resolved));
                        resolved
                    }
                })
            }
        };
        match at {
            Some(at) => {
                let id = raw
                    .message_fields
                    .and_then(|m| m.id)
                    .map(|id| String::from_utf8_lossy(id).trim_matches('"').to_owned());
                merge(&mut responses[at], response, id.as_deref().unwrap_or("without an id"));
                at
            }
            None => {
                self.index.insert(response.key, responses.len());
                responses.push(response);
                responses.len() - 1
            }
        }
    }
}

/// Reads the complete lines of `file` from byte `from` and folds them. `last_uuid` is the `uuid` of the line
/// before `from` (`None` when reading from the start); `limit` bounds the read (see [`tail::Limit`]).
pub(crate) fn read(
    file: &mut File,
    from: u64,
    last_uuid: Option<String>,
    tool_uses: ToolUses,
    prices: &PriceTable,
    limit: tail::Limit,
) -> io::Result<Folded> {
    let mut fold = Fold::new(if from == 0 { None } else { last_uuid }, tool_uses, prices);
    let tail = tail::read_lines(file, from, limit, |line| fold.line(line))?;
    Ok(fold.finish(tail))
}

/// A synthetic error line's time and kind (`apiErrorType`, else `error`, and `apiErrorStatus` when there is one);
/// `None` without a time. Claude Code writes one for a request whose retries ran out (or that it does not retry).
fn api_error(line: &[u8], raw: &Raw) -> Option<ApiErrorLine> {
    let at_ms = line_time(raw)?;
    let [error, error_type, status] =
        super::scan::fields(line, [b"error", b"apiErrorType", b"apiErrorStatus"]).unwrap_or_default();
    let mut kind = error_type.or(error).and_then(json_text).unwrap_or_else(|| "error".to_owned());
    if let Some(status) = status.filter(|s| *s != b"null") {
        kind = format!("{kind} ({})", String::from_utf8_lossy(status));
    }
    Some(ApiErrorLine { at_ms, kind })
}

/// The `error` of a retried request's line: the HTTP status, and the API's answer after it in `message`
/// (`529 {"type":"error","error":{"type":"overloaded_error",...}}`).
#[derive(serde::Deserialize)]
struct RetriedError {
    status: Option<u16>,
    message: Option<String>,
}

/// A retried request's line (Claude Code 2.1.331 writes `{"type":"system","subtype":"api_error","error":{"status":
/// 529,...},"retryAttempt":1,...}` for each attempt it retries, before waiting `retryInMs`): its time and kind, named
/// as [`api_error`] names them (`overloaded_error (529)`); `None` for another system line or without a time.
fn retried_api_error(line: &[u8], raw: &Raw) -> Option<ApiErrorLine> {
    let [subtype, error] = super::scan::fields(line, [b"subtype", b"error"])?;
    if subtype != Some(b"\"api_error\"".as_slice()) {
        return None;
    }
    let at_ms = line_time(raw)?;
    let error = error.and_then(|e| serde_json::from_slice::<RetriedError>(e).ok());
    let (status, message) = error.map_or((None, None), |e| (e.status, e.message));
    // The API's own error type, from the answer quoted in the message; without one, what the status means.
    let answered = message.as_deref().and_then(|m| m.find('{').map(|at| &m[at..])).and_then(|body| {
        let body: serde_json::Value = serde_json::from_str(body).ok()?;
        body.pointer("/error/type").and_then(|t| t.as_str()).map(str::to_owned)
    });
    let kind = answered.unwrap_or_else(|| {
        match status {
            Some(429) => "rate_limit_error",
            Some(529) => "overloaded_error",
            Some(_) => "api_error",
            None => "connection_error",
        }
        .to_owned()
    });
    let kind = match status {
        Some(status) => format!("{kind} ({status})"),
        None => kind,
    };
    Some(ApiErrorLine { at_ms, kind })
}

fn json_text(v: &[u8]) -> Option<String> {
    serde_json::from_slice::<String>(v).ok()
}

/// A line's `timestamp` in milliseconds since the epoch.
fn line_time(raw: &Raw) -> Option<i64> {
    raw.timestamp
        .and_then(json_text)
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| t.timestamp_millis())
}

/// The whole line glued after a torn write (a crash left a partial line, then writing resumed without a newline).
fn recover_torn(line: &[u8]) -> Option<(&[u8], TopLevel<'_>)> {
    // The glued whole line runs to the end of the line; a nested object of it would not, so the first `{"` from
    // which one object spans the rest is where it starts.
    memchr::memmem::find_iter(line, b"{\"").filter(|&at| at > 0).find_map(|at| {
        let rest = &line[at..];
        if !is_whole_object(rest) {
            return None;
        }
        top_level(rest).map(|top| (rest, top))
    })
}

/// Another line of a response already read: the costliest reading counts (the shared rule of
/// [`super::reading::Rank::replaces`]), the first line's place, copy flag and sidechain flag stay, and the
/// response is finished if any of its lines is its final record. Lines that disagree on the model or the prompt
/// leave a note.
fn merge(kept: &mut Response, mut line: Response, message_id: &str) {
    kept.tool_uses.append(&mut line.tool_uses);
    kept.finished |= line.finished;
    kept.final_records |= line.final_records;
    if kept.reading.disagrees_with(&line.reading) && kept.disagreement.is_none() {
        kept.disagreement = Some(disagreement(message_id, &kept.reading.model, &line.reading.model));
    }
    if line.rank().replaces(kept.rank()) {
        kept.reading = line.reading;
        kept.priced = line.priced;
    }
}

/// The note for a response whose lines disagree.
pub(crate) fn disagreement(message_id: &str, a: &str, b: &str) -> String {
    let models = if a == b { format!("the prompt's tokens (model {a})") } else { format!("the model ({a}, {b})") };
    format!("the lines of response {message_id} disagree on {models}: the costliest reading counts")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assistant(id: &str, uuid: &str, parent: &str, output: u64) -> String {
        format!(
            r#"{{"parentUuid":"{parent}","type":"assistant","uuid":"{uuid}","timestamp":"2026-11-24T10:00:00Z","requestId":"r{id}","message":{{"id":"m{id}","model":"claude-sonnet-5","content":[{{"type":"tool_use","id":"t{uuid}"}}],"usage":{{"input_tokens":1,"output_tokens":{output}}}}}}}"#
        )
    }

    fn fold(lines: &[String]) -> Folded {
        let prices = PriceTable::builtin();
        let mut fold = Fold::new(None, ToolUses::Collect, &prices);
        for line in lines {
            fold.line(line.as_bytes());
        }
        fold.finish(Tail::default())
    }

    #[test]
    fn lines_of_one_response_fold_to_the_largest_usage_at_the_first_place() {
        let lines = [
            r#"{"type":"user","uuid":"u0"}"#.to_owned(),
            assistant("1", "a1", "elsewhere", 5),
            assistant("1", "a2", "a1", 50),
            assistant("1", "a3", "a2", 20),
            assistant("2", "b1", "a3", 7),
        ];
        let folded = fold(&lines);
        assert_eq!(folded.responses.len(), 2);
        let first = &folded.responses[0];
        assert_eq!(first.reading.usage.output_tokens, 50);
        assert!(first.detached, "the first line's parent was elsewhere");
        assert_eq!(first.tool_uses, ["ta1", "ta2", "ta3"]);
        assert!(!folded.responses[1].detached);
        assert_eq!(folded.last_uuid.as_deref(), Some("b1"));
    }

    #[test]
    fn a_torn_write_keeps_the_whole_line_after_it() {
        let glued = r#"{"type":"assistant","message":{"id":"msg_trunc{"type":"user","uuid":"u1"}"#.to_owned();
        let lines = [assistant("1", "a1", "u0", 9), glued, "  ".to_owned(), assistant("2", "a2", "u1", 9)];
        let folded = fold(&lines);
        assert_eq!(folded.malformed, 1);
        assert_eq!(folded.responses.len(), 2);
        assert!(!folded.responses[1].detached, "the recovered line is the parent");
    }

    #[test]
    fn interleaved_lines_of_two_responses_fold_each_to_its_costliest_reading() {
        let lines = [
            assistant("1", "a1", "u0", 2),
            assistant("2", "b1", "a1", 5),
            assistant("1", "a2", "b1", 9_000),
            assistant("2", "b2", "a2", 4),
        ];
        let folded = fold(&lines);
        let outputs: Vec<u64> = folded.responses.iter().map(|r| r.reading.usage.output_tokens).collect();
        assert_eq!(outputs, [9_000, 5]);
        assert!(folded.responses.iter().all(|r| r.disagreement.is_none()), "snapshots do not disagree");
    }

    #[test]
    fn a_cheaper_model_with_more_tokens_never_wins() {
        let dear = assistant("1", "a1", "u0", 150_000).replace("claude-sonnet-5", "claude-opus-4-8");
        let cheap = assistant("1", "a2", "a1", 900_000).replace("claude-sonnet-5", "claude-haiku-5-5");
        let folded = fold(&[dear, cheap]);
        let r = &folded.responses[0];
        assert_eq!((r.reading.model.as_str(), r.reading.usage.output_tokens), ("claude-opus-4-8", 150_000));
        let note = r.disagreement.as_deref().unwrap();
        assert!(note.contains("response m1 ") && note.contains("claude-haiku-5-5"), "{note}");
    }

    /// What Claude Code 2.1.331 wrote when the API answered 529 to a request three times in a row with
    /// `CLAUDE_CODE_MAX_RETRIES=2` (captured by the e2e suite, paths shortened): a system line for each of the two
    /// attempts it retried, then the synthetic assistant line for the request it gave up on. Each is one refusal.
    #[test]
    fn each_retried_attempt_and_the_request_given_up_on_is_one_api_error() {
        let lines: Vec<String> = include_str!("../../tests/data/api-errors/2.1.331-529-exhausted.jsonl")
            .lines()
            .map(str::to_owned)
            .collect();
        let folded = fold(&lines);
        let kinds: Vec<&str> = folded.api_errors.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["overloaded_error (529)"; 3]);
        let times: Vec<i64> = folded.api_errors.iter().map(|e| e.at_ms).collect();
        assert!(times.is_sorted() && times[0] < times[2], "{times:?}");
        assert!(folded.responses.is_empty(), "the synthetic line is no response");
    }

    #[test]
    fn a_retried_attempt_is_named_by_the_api_error_type_or_its_status() {
        let retried = |error: &str| {
            format!(
                r#"{{"type":"system","subtype":"api_error","level":"error","error":{error},"retryInMs":500,"retryAttempt":1,"maxRetries":10,"source":"request_retry","timestamp":"2026-11-24T10:00:00.250Z","uuid":"u"}}"#
            )
        };
        let lines = [
            retried(r#"{"message":"429 {\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\"}}","status":429}"#),
            retried(r#"{"message":"529 overloaded","status":529}"#),
            retried(r#"{"message":"500 {\"type\":\"error\",\"error\":{\"type\":\"api_error\"}}","status":500}"#),
            retried(r#"{"message":"Connection error.","status":null,"connection":{"code":"ECONNREFUSED"}}"#),
            retried(r#""not an object""#),
        ];
        let folded = fold(&lines);
        let kinds: Vec<&str> = folded.api_errors.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "rate_limit_error (429)",
                "overloaded_error (529)",
                "api_error (500)",
                "connection_error",
                "connection_error"
            ]
        );
        assert_eq!(folded.api_errors[0].at_ms, 1_795_514_400_250);
        // Other system lines, and one naming api_error elsewhere, are no refusal.
        let others = [
            r#"{"type":"system","subtype":"stop_hook_summary","content":"api_error","timestamp":"2026-11-24T10:00:00Z"}"#.to_owned(),
            r#"{"type":"system","subtype":"api_error","error":{"status":529}}"#.to_owned(),
        ];
        assert!(fold(&others).api_errors.is_empty(), "a line without a time is skipped");
    }
}
