//! One transcript's lines turned into its responses, by the rules the hook and the reports share so that they
//! count alike: the lines of one API response (one per content block, or streaming snapshots with a growing
//! `output_tokens`) are written one after another and fold into one response with the largest usage, placed
//! where its first line was; a torn write glued to a whole line keeps the whole line; and every line's `uuid`
//! is remembered, so the next response can tell whether it was written here (its parent is the line before
//! it) or copied in from another file (`detached`).

use super::Response;
use super::line::{Skip, ToolUses, parse_scanned};
use super::scan::{TopLevel, is_whole_object, may_carry_usage, top_level};
use super::tail::{self, Tail};
use std::fs::File;
use std::io;

/// What folding a run of lines gave.
#[derive(Debug, Default)]
pub(crate) struct Folded {
    /// In file order, one per API response (consecutive lines of one response folded).
    pub responses: Vec<Response>,
    /// The `uuid` of the last line read: where the next read continues the chain.
    pub last_uuid: Option<String>,
    /// Lines that were not JSON objects (torn writes) or assistant lines with usage that would not parse.
    pub malformed: u64,
    pub tail: Tail,
}

/// Folds lines fed one at a time.
#[derive(Debug)]
pub(crate) struct Fold {
    folded: Folded,
    tool_uses: ToolUses,
}

impl Fold {
    /// `last_uuid`: the `uuid` of the line before the first one fed (`None` at the start of a file).
    pub(crate) fn new(last_uuid: Option<String>, tool_uses: ToolUses) -> Fold {
        Fold { folded: Folded { last_uuid, ..Folded::default() }, tool_uses }
    }

    /// Feeds one line (without its newline).
    pub(crate) fn line(&mut self, line: &[u8]) {
        self.line_seen(line);
    }

    /// [`Fold::line`], returning the line it kept (the whole line glued after a torn write, if that is what it
    /// found) and its top-level fields, so that a caller reading more of the line does not scan it again.
    pub(crate) fn line_seen<'l>(&mut self, line: &'l [u8]) -> Option<(&'l [u8], TopLevel<'l>)> {
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
        if top.kind == Some("assistant") && top.has_message && may_carry_usage(line) {
            match parse_scanned(line, &top.raw, self.folded.last_uuid.as_deref(), self.tool_uses) {
                Ok(response) => push(&mut self.folded.responses, response),
                Err(Skip::Malformed) => self.folded.malformed += 1,
                Err(Skip::NoUsage) => {}
            }
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
        Some((line, top))
    }

    /// How many responses the lines fed so far made: the one a line just fed belongs to is the last of them.
    pub(crate) fn responses(&self) -> usize {
        self.folded.responses.len()
    }

    pub(crate) fn finish(self, tail: Tail) -> Folded {
        Folded { tail, ..self.folded }
    }
}

/// Reads the complete lines of `file` from byte `from` and folds them. `last_uuid` is the `uuid` of the line
/// before `from` (`None` when reading from the start).
pub(crate) fn read(file: &mut File, from: u64, last_uuid: Option<String>, tool_uses: ToolUses) -> io::Result<Folded> {
    let mut fold = Fold::new(if from == 0 { None } else { last_uuid }, tool_uses);
    let tail = tail::read_lines(file, from, |line| fold.line(line))?;
    Ok(fold.finish(tail))
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

/// Lines of one response are written one after another; fold them, keeping the largest usage (older clients
/// wrote growing snapshots) and the first line's place in the file.
fn push(responses: &mut Vec<Response>, mut response: Response) {
    if let Some(last) = responses.last_mut().filter(|last| last.key == response.key) {
        let mut tool_uses = std::mem::take(&mut last.tool_uses);
        tool_uses.append(&mut response.tool_uses);
        if response.usage.total_tokens() > last.usage.total_tokens() {
            let detached = last.detached;
            *last = Response { detached, ..response };
        }
        last.tool_uses = tool_uses;
        return;
    }
    responses.push(response);
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
        let mut fold = Fold::new(None, ToolUses::Collect);
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
        assert_eq!(first.usage.output_tokens, 50);
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
}
