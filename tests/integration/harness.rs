//! The sandbox and builders the tests share: a temp HOME with Claude Code's layout, transcript line builders,
//! and a runner that passes stdin and environment to the real binary and returns status, stdout and stderr.

use serde_json::{Value, json};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_ccbreaker");
/// The sandbox clock: every hook call happens at this instant unless a test says otherwise.
pub(crate) const NOW: &str = "2026-11-24T12:00:00Z";
pub(crate) const PROJECT: &str = "-work-proj";

static COUNTER: AtomicUsize = AtomicUsize::new(0);

pub(crate) struct Sandbox {
    pub(crate) root: PathBuf,
    pub(crate) home: PathBuf,
    pub(crate) state: PathBuf,
    pub(crate) config: PathBuf,
    pub(crate) now: String,
    extra_env: Vec<(String, String)>,
}

/// What a run printed and returned.
#[derive(Debug)]
pub(crate) struct Output {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Output {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {:?}\nstderr: {}", self.stdout, self.stderr))
    }

    /// Checks the exit code, stdout and stderr together, and shows all three when any differs: the words a user
    /// acts on are pinned whole.
    #[track_caller]
    pub(crate) fn assert_is(&self, code: i32, stdout: &str, stderr: &str) {
        if (self.code, self.stdout.as_str(), self.stderr.as_str()) != (code, stdout, stderr) {
            panic!(
                "output differs\n--- exit: expected {code}, got {}\n--- stdout, expected:\n{stdout}\n--- stdout, got:\n{}\n\
                 --- stderr, expected:\n{stderr}\n--- stderr, got:\n{}",
                self.code, self.stdout, self.stderr
            );
        }
    }

    /// Exit 0 and nothing on stdout: the hook allowed silently.
    pub(crate) fn assert_silent_allow(&self) {
        assert_eq!((self.code, self.stdout.as_str()), (0, ""), "expected a silent allow; stderr: {}", self.stderr);
    }
}

impl Sandbox {
    pub(crate) fn new(name: &str) -> Sandbox {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("sandbox-{}-{n}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let home = root.join("home");
        std::fs::create_dir_all(home.join(".claude/projects").join(PROJECT)).unwrap();
        Sandbox {
            state: root.join("state"),
            config: root.join("config.toml"),
            home,
            root,
            now: NOW.to_owned(),
            extra_env: Vec::new(),
        }
    }

    pub(crate) fn config(&self, toml: &str) -> &Sandbox {
        std::fs::write(&self.config, toml).unwrap();
        self
    }

    pub(crate) fn env(&mut self, key: &str, value: &str) -> &mut Sandbox {
        self.extra_env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Puts the binary's directory first on `PATH`, as an installed ccbreaker is: messages then name it `ccbreaker`
    /// (off `PATH`, they name it by its absolute path).
    pub(crate) fn binary_on_path(&mut self) -> &mut Sandbox {
        let dir = std::path::Path::new(BIN).parent().unwrap().display().to_string();
        self.env("PATH", &format!("{dir}:/usr/bin:/bin"))
    }

    pub(crate) fn transcript(&self, session: &str) -> Transcript {
        Transcript { path: self.home.join(".claude/projects").join(PROJECT).join(format!("{session}.jsonl")) }
    }

    pub(crate) fn subagent(&self, session: &str, agent: &str) -> Transcript {
        let dir = self.home.join(".claude/projects").join(PROJECT).join(session).join("subagents");
        std::fs::create_dir_all(&dir).unwrap();
        Transcript { path: dir.join(format!("agent-{agent}.jsonl")) }
    }

    pub(crate) fn command(&self, args: &[&str]) -> Command {
        self.command_of(BIN, args)
    }

    /// `program` (another binary of the package) with `args`, in the sandbox's environment.
    pub(crate) fn command_of(&self, program: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env_clear()
            .env("HOME", &self.home)
            .env("PATH", "/usr/bin:/bin")
            .env("TZ", "UTC")
            .env("CCBREAKER_CONFIG", &self.config)
            .env("CCBREAKER_STATE_DIR", &self.state)
            .env("CCBREAKER_NOW", &self.now)
            .current_dir(&self.root);
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        cmd
    }

    pub(crate) fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        run(self.command(args), stdin)
    }

    /// Runs `ccbreaker hook` with `event` on stdin.
    pub(crate) fn hook(&self, event: &Value) -> Output {
        self.run(&["hook"], event.to_string().as_bytes())
    }

    /// A PreToolUse event of `session` (main thread).
    pub(crate) fn pre_tool_use(&self, session: &str) -> Output {
        self.hook(&self.event("PreToolUse", session))
    }

    pub(crate) fn event(&self, name: &str, session: &str) -> Value {
        json!({
            "session_id": session,
            "transcript_path": self.transcript(session).path,
            "cwd": "/work/proj",
            "hook_event_name": name,
            "tool_name": "Bash",
            "tool_input": {"command": "ls"},
            "permission_mode": "default",
        })
    }

    /// `report <args> --json`, which must succeed.
    pub(crate) fn report(&self, args: &[&str]) -> Value {
        let mut all = vec!["report"];
        all.extend_from_slice(args);
        all.push("--json");
        let out = self.run(&all, b"");
        assert_eq!(out.code, 0, "report {args:?} failed: {}", out.stderr);
        out.json()
    }

    pub(crate) fn status(&self) -> Value {
        let out = self.run(&["status", "--json"], b"");
        assert_eq!(out.code, 0, "status failed: {}", out.stderr);
        out.json()
    }

    pub(crate) fn session_status(&self, session: &str) -> Value {
        let status = self.status();
        status["sessions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["session_id"] == session)
            .cloned()
            .unwrap_or_else(|| panic!("session {session} not in status: {status:#}"))
    }
}

pub(crate) fn run(mut cmd: Command, stdin: &[u8]) -> Output {
    let mut child = cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_vec();
    // Write on a thread: a large input must not deadlock against a full stdout pipe.
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let code = out.status.code().unwrap_or(-1);
    assert_ne!(code, 101, "ccbreaker panicked: {}", String::from_utf8_lossy(&out.stderr));
    Output {
        code,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub(crate) struct Transcript {
    pub(crate) path: PathBuf,
}

impl Transcript {
    pub(crate) fn append(&self, line: &str) -> &Transcript {
        self.append_raw(format!("{line}\n").as_bytes())
    }

    pub(crate) fn append_raw(&self, bytes: &[u8]) -> &Transcript {
        std::fs::create_dir_all(self.path.parent().unwrap()).unwrap();
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&self.path).unwrap();
        f.write_all(bytes).unwrap();
        self
    }

    pub(crate) fn lines(&self, lines: &[String]) -> &Transcript {
        for line in lines {
            self.append(line);
        }
        self
    }
}

/// An assistant line, with the fields that matter for accounting; `json()` renders it as Claude Code would.
#[derive(Clone)]
pub(crate) struct Line {
    pub(crate) message: String,
    pub(crate) request: String,
    pub(crate) model: String,
    pub(crate) input: u64,
    pub(crate) output: u64,
    pub cache_5m: u64,
    pub cache_1h: u64,
    pub(crate) cache_read: u64,
    pub(crate) timestamp: String,
    pub(crate) uuid: String,
    pub(crate) parent: Option<String>,
    pub(crate) sidechain: bool,
    pub(crate) session: String,
    pub(crate) speed: Option<&'static str>,
    pub(crate) tool_use: Option<String>,
    /// `message.stop_reason`: `None` for a streaming snapshot (Claude Code 2.1.331 writes it on a finished response).
    pub(crate) stop_reason: Option<&'static str>,
}

/// A response of `output` output tokens on claude-sonnet-5 ($10 per million output tokens: $1 is 100,000).
pub(crate) fn response(id: &str, output: u64) -> Line {
    Line {
        message: format!("msg_{id}"),
        request: format!("req_{id}"),
        model: "claude-sonnet-5".to_owned(),
        input: 0,
        output,
        cache_5m: 0,
        cache_1h: 0,
        cache_read: 0,
        timestamp: "2026-11-24T10:00:00.000Z".to_owned(),
        uuid: format!("uuid-{id}"),
        parent: None,
        sidechain: false,
        session: "s".to_owned(),
        speed: None,
        tool_use: None,
        stop_reason: Some("end_turn"),
    }
}

/// Output tokens of claude-sonnet-5 that cost `usd`.
pub(crate) fn tokens_for_usd(usd: f64) -> u64 {
    (usd * 100_000.0).round() as u64
}

impl Line {
    pub(crate) fn at(mut self, timestamp: &str) -> Line {
        self.timestamp = timestamp.to_owned();
        self
    }

    pub(crate) fn parent(mut self, parent: &str) -> Line {
        self.parent = Some(parent.to_owned());
        self
    }

    pub(crate) fn uuid(mut self, uuid: &str) -> Line {
        self.uuid = uuid.to_owned();
        self
    }

    pub(crate) fn model(mut self, model: &str) -> Line {
        self.model = model.to_owned();
        self
    }

    pub(crate) fn request(mut self, request: &str) -> Line {
        self.request = request.to_owned();
        self
    }

    pub(crate) fn tool_use(mut self, id: &str) -> Line {
        self.tool_use = Some(id.to_owned());
        self
    }

    pub(crate) fn sidechain(mut self) -> Line {
        self.sidechain = true;
        self
    }

    pub(crate) fn output(mut self, output: u64) -> Line {
        self.output = output;
        self
    }

    pub(crate) fn cache(mut self, five_min: u64, one_hour: u64, read: u64) -> Line {
        self.cache_5m = five_min;
        self.cache_1h = one_hour;
        self.cache_read = read;
        self
    }

    pub(crate) fn json(&self) -> String {
        let mut usage = json!({
            "input_tokens": self.input,
            "cache_creation_input_tokens": self.cache_5m + self.cache_1h,
            "cache_read_input_tokens": self.cache_read,
            "output_tokens": self.output,
            "cache_creation": {"ephemeral_5m_input_tokens": self.cache_5m, "ephemeral_1h_input_tokens": self.cache_1h},
            "service_tier": "standard",
        });
        if let Some(speed) = self.speed {
            usage["speed"] = json!(speed);
        }
        let content = match &self.tool_use {
            Some(id) => json!([{"type": "tool_use", "id": id, "name": "Bash", "input": {"command": "ls"}}]),
            None => json!([{"type": "text", "text": "ok"}]),
        };
        json!({
            "parentUuid": self.parent,
            "isSidechain": self.sidechain,
            "message": {"model": self.model, "id": self.message, "type": "message", "role": "assistant",
                        "content": content, "stop_reason": self.stop_reason, "usage": usage},
            "requestId": self.request,
            "type": "assistant",
            "uuid": self.uuid,
            "timestamp": self.timestamp,
            "sessionId": self.session,
            "version": "2.1.331",
        })
        .to_string()
    }
}

/// A user line (prompt or tool result), which carries no usage but takes part in the uuid chain.
pub(crate) fn user_line(uuid: &str, parent: Option<&str>) -> String {
    json!({"parentUuid": parent, "type": "user", "uuid": uuid, "timestamp": "2026-11-24T10:00:00.000Z",
           "message": {"role": "user", "content": "go on"}})
    .to_string()
}

/// A chain of `n` responses of `usd_each`, each after a user line, as one session writes them.
pub(crate) fn chain(prefix: &str, n: usize, usd_each: f64) -> Vec<String> {
    let mut lines = Vec::new();
    let mut parent: Option<String> = None;
    for i in 0..n {
        let user = format!("{prefix}-user-{i}");
        lines.push(user_line(&user, parent.as_deref()));
        let id = format!("{prefix}-{i}");
        let r = response(&id, tokens_for_usd(usd_each)).parent(&user);
        parent = Some(r.uuid.clone());
        lines.push(r.json());
    }
    lines
}
