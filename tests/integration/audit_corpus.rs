//! A generator of transcripts for the audit: sessions written as Claude Code 2.1.331 writes them (prompts, tool
//! calls and results, one response per request with its cache figures, compaction files, subagents), each
//! either clean or with one planted pattern, so that the audit's answer is known by construction.
//!
//! The cache model is the client's: every request reads the prompt of the request before it from the cache
//! (while the cache lives) and writes what is new; a tool result of B bytes (as JSON) is B / 3.3 tokens.

use serde_json::{Value, json};
use std::path::{Path, PathBuf};

pub(crate) const SONNET: &str = "claude-sonnet-4-5-20250929";
pub(crate) const OPUS_41: &str = "claude-opus-4-1-20250805";

/// Tokens a piece of content (its JSON text) becomes.
pub(crate) fn tokens_of(json_bytes: usize) -> u64 {
    (json_bytes as u64 * 10).div_ceil(33)
}

pub(crate) struct Session {
    path: PathBuf,
    pub(crate) id: String,
    cwd: String,
    lines: Vec<String>,
    pub(crate) t: chrono::DateTime<chrono::Utc>,
    pub(crate) model: String,
    /// Tokens the next request's prompt holds.
    pub(crate) context: u64,
    /// The previous request's prompt, readable from the cache until it expires.
    cached: u64,
    last_request: Option<chrono::DateTime<chrono::Utc>>,
    pub(crate) one_hour: bool,
    break_next: bool,
    pub(crate) output: u64,
    parent: Option<String>,
    counter: u64,
    sidechain: Option<String>,
    /// The prompt of every request, in order.
    pub(crate) prompts: Vec<u64>,
}

impl Session {
    /// A main session `id` of `project` starting at `start` (RFC 3339) with `overhead` tokens of fixed prompt.
    pub(crate) fn new(projects: &Path, project: &str, id: &str, start: &str, overhead: u64) -> Session {
        Session {
            path: projects.join(project).join(format!("{id}.jsonl")),
            id: id.to_owned(),
            cwd: format!("/home/dev/src/{}", project.rsplit('-').next().unwrap_or(project)),
            lines: Vec::new(),
            t: chrono::DateTime::parse_from_rfc3339(start).unwrap().with_timezone(&chrono::Utc),
            model: SONNET.to_owned(),
            context: overhead,
            cached: 0,
            last_request: None,
            one_hour: false,
            break_next: false,
            output: 200,
            parent: None,
            counter: 0,
            sidechain: None,
            prompts: Vec::new(),
        }
    }

    /// A subagent of this session, in `<session>/subagents/agent-<agent>.jsonl`, starting now.
    pub(crate) fn subagent(&self, agent: &str, overhead: u64) -> Session {
        let dir = self.path.with_extension("").join("subagents");
        let mut sub = Session::new(Path::new("/"), "", &self.id, "2026-01-01T00:00:00Z", overhead);
        sub.path = dir.join(format!("agent-{agent}.jsonl"));
        sub.cwd.clone_from(&self.cwd);
        sub.t = self.t;
        sub.model.clone_from(&self.model);
        sub.sidechain = Some(agent.to_owned());
        sub.counter = 10_000;
        sub
    }

    fn next_uuid(&mut self) -> String {
        self.counter += 1;
        format!("{}-{:06}", self.id, self.counter)
    }

    fn ts(&self) -> String {
        self.t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
    }

    fn push(&mut self, mut line: Value) {
        let uuid = self.next_uuid();
        let fields = line.as_object_mut().unwrap();
        fields.insert("parentUuid".into(), json!(self.parent));
        fields.insert("isSidechain".into(), json!(self.sidechain.is_some()));
        fields.insert("userType".into(), json!("external"));
        fields.insert("cwd".into(), json!(self.cwd));
        fields.insert("sessionId".into(), json!(self.id));
        fields.insert("version".into(), json!("2.1.331"));
        fields.insert("uuid".into(), json!(uuid));
        fields.insert("timestamp".into(), json!(self.ts()));
        if let Some(agent) = &self.sidechain {
            fields.insert("agentId".into(), json!(agent));
        }
        self.parent = Some(uuid);
        self.lines.push(line.to_string());
    }

    pub(crate) fn wait(&mut self, seconds: i64) -> &mut Session {
        self.t += chrono::Duration::seconds(seconds);
        self
    }

    /// A prompt (or any user text) of `text`.
    pub(crate) fn user(&mut self, text: &str) -> &mut Session {
        self.context += tokens_of(json!(text).to_string().len());
        self.push(json!({"type": "user", "message": {"role": "user", "content": text}}));
        self.wait(5)
    }

    /// The next request re-writes its whole prompt although its cache lives.
    pub(crate) fn break_cache(&mut self) -> &mut Session {
        self.break_next = true;
        self
    }

    /// One request whose response holds `blocks`.
    fn request(&mut self, blocks: Value) {
        self.wait(20);
        let prompt = self.context;
        let ttl = if self.one_hour { 3600 } else { 300 };
        let alive = self.last_request.is_some_and(|last| (self.t - last).num_seconds() <= ttl);
        let read = if alive && !self.break_next { self.cached.min(prompt) } else { 0 };
        let input = 3;
        let write = prompt - read - input;
        let (five, hour) = if self.one_hour { (0, write) } else { (write, 0) };
        self.counter += 1;
        let n = self.counter;
        let usage = json!({
            "input_tokens": input, "cache_creation_input_tokens": write, "cache_read_input_tokens": read,
            "cache_creation": {"ephemeral_5m_input_tokens": five, "ephemeral_1h_input_tokens": hour},
            "output_tokens": self.output, "service_tier": "standard",
        });
        let stop =
            if blocks.as_array().unwrap().iter().any(|b| b["type"] == "tool_use") { "tool_use" } else { "end_turn" };
        self.push(json!({
            "type": "assistant", "requestId": format!("req_{}_{n}", self.id),
            "message": {"id": format!("msg_{}_{n}", self.id), "type": "message", "role": "assistant",
                        "model": self.model, "content": blocks, "stop_reason": stop, "usage": usage},
        }));
        self.prompts.push(prompt);
        self.cached = prompt;
        self.context = prompt + self.output;
        self.last_request = Some(self.t);
        self.break_next = false;
    }

    /// A request issuing tool calls; returns their ids.
    pub(crate) fn calls(&mut self, calls: &[(&str, Value)]) -> Vec<String> {
        let ids: Vec<String> =
            (0..calls.len()).map(|i| format!("toolu_{}_{}_{i}", self.id, self.counter + 1)).collect();
        let blocks: Vec<Value> = calls
            .iter()
            .zip(&ids)
            .map(|((name, input), id)| json!({"type": "tool_use", "id": id, "name": name, "input": input}))
            .collect();
        self.request(json!(blocks));
        ids
    }

    /// A request issuing one tool call, and its result (`error`: marked as an error).
    pub(crate) fn tool(&mut self, name: &str, input: Value, result: &str, error: bool) -> &mut Session {
        let id = self.calls(&[(name, input)]).remove(0);
        self.result(&id, result, error)
    }

    pub(crate) fn result(&mut self, id: &str, content: &str, error: bool) -> &mut Session {
        self.wait(2);
        self.context += tokens_of(json!(content).to_string().len());
        self.push(json!({"type": "user", "message": {"role": "user", "content": [
            {"tool_use_id": id, "type": "tool_result", "content": content, "is_error": error}]}}));
        self
    }

    /// A request answering in text.
    pub(crate) fn say(&mut self, text: &str) -> &mut Session {
        self.request(json!([{"type": "text", "text": text}]));
        self
    }

    /// Auto-compaction: the summarising request in its own `agent-acompact-<id>.jsonl`, then the boundary and the
    /// summary in this file; the context starts again from `overhead` plus the summary.
    pub(crate) fn compact(&mut self, agent: &str, overhead: u64) -> Session {
        let mut job = self.subagent(&format!("acompact-{agent}"), 0);
        job.context = self.context;
        job.cached = self.cached;
        job.last_request = self.last_request;
        job.output = 2_000;
        job.user("Your task is to create a detailed summary of the conversation so far.");
        job.say("<summary>what was done</summary>");
        let pre = self.context;
        self.t = job.t;
        self.wait(1);
        self.push(json!({"type": "system", "subtype": "compact_boundary", "content": "Conversation compacted",
                         "level": "info", "compactMetadata": {"trigger": "auto", "preTokens": pre}}));
        self.context = overhead;
        self.cached = 0;
        self.push(json!({"type": "user", "isCompactSummary": true,
                         "message": {"role": "user", "content": format!("Summary of session {}", self.id)}}));
        self.context += 700;
        job
    }

    pub(crate) fn write(&self) {
        std::fs::create_dir_all(self.path.parent().unwrap()).unwrap();
        std::fs::write(&self.path, self.lines.join("\n") + "\n").unwrap();
    }
}

/// Work that must not be a finding: distinct reads, a file read again after an edit or after a shell command that
/// names it, a part of a file read after another part, tests run between edits, small results, a short pause.
pub(crate) fn clean_work(s: &mut Session, seed: &str) {
    s.user(&format!("Fix the failing parser test in {seed} and keep the change small."));
    let file = format!("/home/dev/src/{seed}/parser.rs");
    s.tool("Read", json!({"file_path": file}), &"fn parse() {}\n".repeat(40), false);
    s.tool("Grep", json!({"pattern": "parse_header", "path": "/home/dev/src"}), "src/parser.rs:12", false);
    for round in 0..6 {
        s.tool("Bash", json!({"command": "cargo test parser"}), "test parser ... FAILED", false);
        let edit =
            json!({"file_path": file, "old_string": format!("v{round}"), "new_string": format!("v{}", round + 1)});
        s.tool("Edit", edit, "The file has been updated.", false);
    }
    s.tool("Read", json!({"file_path": file}), &"fn parse() { ok }\n".repeat(40), false);
    s.tool("Bash", json!({"command": format!("sed -i s/ok/fine/ {seed}/parser.rs")}), "", false);
    s.tool("Read", json!({"file_path": file}), &"fn parse() { fine }\n".repeat(40), false);
    s.tool("Read", json!({"file_path": file, "offset": 200, "limit": 50}), &"// tail\n".repeat(30), false);
    s.wait(150);
    s.tool("Bash", json!({"command": "cargo test"}), "test result: ok. 42 passed", false);
    s.say("The parser test passes now.");
}
