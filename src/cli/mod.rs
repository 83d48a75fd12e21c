//! The command line: a hand-written parser (no CLI framework on the hook path) and one function per command.
//! `--help` and `--version` answer before any config or state is read.

mod allow;
mod args;
mod audit_cmd;
mod config_cmd;
mod install_cmd;
mod log;
mod report;
mod status;

use crate::env::Env;
use crate::error::{Error, OutputError, exit};
use args::Args;
use chrono::{DateTime, Utc};
use std::ffi::OsString;
use std::io::{Read, Write};

pub(crate) const USAGE: &str = "\
ccbreaker: a cost circuit breaker for Claude Code

Usage:
  ccbreaker install [--scope user|project|local] [--dry-run]
                                    register the hook in Claude Code's settings
  ccbreaker uninstall [--scope user|project|local] [--dry-run] [--i-am-human]
                                    remove ccbreaker's hook entries (only those)
  ccbreaker status [--json] [--session ID]
                                    today's spend, each session's spend and state, the budgets
  ccbreaker report daily|weekly|monthly|session|blocks [--json] [--since YYYY-MM-DD] [--until YYYY-MM-DD]
                   [--timezone TZ] [--project NAME] [--breakdown]
                                    spend of every transcript by day, ISO week, month, session or 5-hour block
  ccbreaker audit [--since DATE] [--until DATE] [--session ID] [--project NAME] [--json] [--html FILE]
                                    where the money went: waste, cache breaks, overhead creep, anomalies, priced
  ccbreaker allow --session ID [--add-usd N] [--i-am-human]
                                    let a blocked session spend N USD more (default: one session budget)
  ccbreaker log [--json] [--limit N]
                                    the audit trail: every block, refused tamper attempt and override
  ccbreaker config init [--force] [--i-am-human]
                                    write a commented config file
  ccbreaker config check            validate the config and print the effective values
  ccbreaker config path             print the config file's path
  ccbreaker hook                    what Claude Code runs: reads the hook event on stdin
  ccbreaker --help | --version

Exit codes: 0 ok, 1 error, 2 blocked (hook with on_breach = \"exit-code\"), 64 bad usage.
Environment: CCBREAKER_CONFIG, CCBREAKER_STATE_DIR, CCBREAKER_ON_ERROR, CCBREAKER_LOCK_TIMEOUT_MS, CCBREAKER_LOG,
CCBREAKER_NOW, CLAUDE_CONFIG_DIR, NO_COLOR (see the README).
";

/// Where a command writes, and what it knows of the world.
pub struct Io<'a> {
    pub stdin: &'a mut dyn Read,
    pub stdin_is_terminal: bool,
    /// Colour only goes to a terminal.
    pub stdout_is_terminal: bool,
    pub stdout: Out<'a>,
    /// Progress lines only go to a terminal.
    pub stderr_is_terminal: bool,
    pub stderr: Out<'a>,
    pub env: &'a Env,
}

/// Standard output or error. `write!`/`writeln!` on it fail with an [`OutputError`] naming the stream, so that a
/// failed write is never confused with another I/O error (and a closed pipe is recognised by its type).
pub struct Out<'a> {
    stream: &'static str,
    inner: &'a mut dyn Write,
}

impl<'a> Out<'a> {
    pub fn stdout(inner: &'a mut dyn Write) -> Out<'a> {
        Out { stream: "standard output", inner }
    }

    pub fn stderr(inner: &'a mut dyn Write) -> Out<'a> {
        Out { stream: "standard error", inner }
    }

    /// What `write!` and `writeln!` call.
    pub(crate) fn write_fmt(&mut self, args: std::fmt::Arguments) -> Result<(), OutputError> {
        self.inner.write_fmt(args).map_err(|source| OutputError { stream: self.stream, source })
    }

    pub(crate) fn write_all(&mut self, bytes: &[u8]) -> Result<(), OutputError> {
        self.inner.write_all(bytes).map_err(|source| OutputError { stream: self.stream, source })
    }
}

/// Runs the command in `args` (without the program name) and returns the exit code. An error is printed once,
/// with every cause, prefixed `ccbreaker:`; its kind decides the exit code ([`Error::code`]).
pub fn run(args: Vec<OsString>, io: &mut Io) -> u8 {
    match dispatch(args, io) {
        Ok(code) => code,
        Err(err) if err.is_broken_pipe() => exit::OK,
        Err(err) => {
            let _ = writeln!(io.stderr, "ccbreaker: {}", err.report());
            err.code()
        }
    }
}

fn dispatch(args: Vec<OsString>, io: &mut Io) -> Result<u8, Error> {
    let mut args = Args::new(args);
    let Some(command) = args.next_word()? else {
        write!(io.stdout, "{USAGE}")?;
        return Ok(exit::USAGE);
    };
    match command.as_str() {
        "-h" | "--help" | "help" => {
            write!(io.stdout, "{USAGE}")?;
            Ok(exit::OK)
        }
        "-V" | "--version" => {
            writeln!(io.stdout, "ccbreaker {}", env!("CARGO_PKG_VERSION"))?;
            Ok(exit::OK)
        }
        "hook" => {
            args.finish()?;
            hook(io)
        }
        "install" => install_cmd::install(args, io),
        "uninstall" => install_cmd::uninstall(args, io),
        "status" => status::status(args, io),
        "report" => report::report(args, io),
        "audit" => audit_cmd::audit(args, io),
        "allow" => allow::allow(args, io),
        "log" => log::log(args, io),
        "config" => config_cmd::config(args, io),
        other => Err(Error::usage(format!("unknown command `{other}`"))),
    }
}

fn hook(io: &mut Io) -> Result<u8, Error> {
    let mut stdin = Vec::new();
    let limit = crate::hook::event::MAX_STDIN as u64 + 1;
    let answer = match io.stdin.take(limit).read_to_end(&mut stdin) {
        Ok(_) => crate::hook::run::run(&stdin, io.env, now(io.env)),
        Err(source) => crate::hook::Answer::error(&Error::Stdin(source).report()),
    };
    io.stdout.write_all(answer.stdout.as_bytes())?;
    io.stderr.write_all(answer.stderr.as_bytes())?;
    Ok(answer.code)
}

/// Refuses a command that would lift a limit when it runs inside Claude Code (a tool call of the agent under guard),
/// unless a person typed `--i-am-human` on an interactive terminal.
pub(crate) fn refuse_inside_claude_code(io: &Io, what: &str, human: bool) -> Result<(), Error> {
    if io.env.inside_claude_code && !(human && io.stdin_is_terminal) {
        return Err(Error::Failed(format!(
            "`{what}` refuses to run inside Claude Code (CLAUDECODE is set): a person must run it in their own \
             terminal, or pass --i-am-human on an interactive terminal"
        )));
    }
    Ok(())
}

/// The clock: `CCBREAKER_NOW` if set, else the system's.
pub(crate) fn now(env: &Env) -> Result<DateTime<Utc>, Error> {
    match env.now.as_deref() {
        None => Ok(Utc::now()),
        Some(value) => DateTime::parse_from_rfc3339(value.trim()).map(|t| t.with_timezone(&Utc)).map_err(|_| {
            Error::Env { var: crate::env::CCBREAKER_NOW, expected: "an RFC 3339 time", value: value.to_owned() }
        }),
    }
}
