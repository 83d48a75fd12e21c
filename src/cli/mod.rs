//! The command line: a hand-written parser (no CLI framework on the hook path) and one function per command.
//! `--help` and `--version` answer before any config or state is read.

mod allow;
mod args;
mod config_cmd;
mod install_cmd;
mod log;
mod reconcile;
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
  ccbreaker reconcile [--since YYYY-MM-DD] [--until YYYY-MM-DD] [--csv FILE...] [--json] [--session ID]
                                    the local estimate against what Anthropic billed, per day, model and session
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
CCBREAKER_NOW, CLAUDE_CONFIG_DIR, NO_COLOR, ANTHROPIC_ADMIN_KEY, CCBREAKER_ADMIN_API_URL (see the README).
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

/// A binary's `main`: reads the environment once, gives `command` (`run`, or `run_net` for `ccbreaker-net`) the
/// process's arguments and standard streams, and returns its exit code.
pub fn main(command: fn(Vec<OsString>, &mut Io) -> u8) -> std::process::ExitCode {
    use std::io::IsTerminal;
    let env = Env::from_process();
    let (stdin, stdout, stderr) = (std::io::stdin(), std::io::stdout(), std::io::stderr());
    let (mut out, mut err) = (stdout.lock(), stderr.lock());
    let mut io = Io {
        stdin_is_terminal: stdin.is_terminal(),
        stdin: &mut stdin.lock(),
        stdout_is_terminal: stdout.is_terminal(),
        stdout: Out::stdout(&mut out),
        stderr_is_terminal: stderr.is_terminal(),
        stderr: Out::stderr(&mut err),
        env: &env,
    };
    std::process::ExitCode::from(command(std::env::args_os().skip(1).collect(), &mut io))
}

/// Runs the command in `args` (without the program name) and returns the exit code. An error is printed once,
/// with every cause, prefixed `ccbreaker:`; its kind decides the exit code ([`Error::code`]).
pub fn run(args: Vec<OsString>, io: &mut Io) -> u8 {
    let result = dispatch(args, io);
    exit_code(result, io)
}

/// The exit code of a command's result; an error is printed once, with every cause.
fn exit_code(result: Result<u8, Error>, io: &mut Io) -> u8 {
    match result {
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
        "reconcile" => net(command, args),
        "allow" => allow::allow(args, io),
        "log" => log::log(args, io),
        "config" => config_cmd::config(args, io),
        other => Err(Error::usage(format!("unknown command `{other}`"))),
    }
}

/// The name of the binary that holds the commands using the network, beside `ccbreaker`.
pub(crate) const NET_BINARY: &str = "ccbreaker-net";

/// Runs a command of `ccbreaker-net` (see `src/bin/ccbreaker-net.rs`): the binary beside this one, with the same
/// arguments, standard streams and environment; its exit code is ours.
fn net(command: String, args: Args) -> Result<u8, Error> {
    let exe = std::env::current_exe().map_err(Error::file("find the path of", "ccbreaker"))?;
    let path = exe.with_file_name(format!("{NET_BINARY}{}", std::env::consts::EXE_SUFFIX));
    if !path.is_file() {
        return Err(Error::Failed(format!(
            "`ccbreaker {command}` needs `{NET_BINARY}` beside `{}` (at `{}`): ./install.sh and `cargo install --path .` \
             install both",
            exe.display(),
            path.display()
        )));
    }
    let mut child = std::process::Command::new(&path);
    child.arg(&command).args(args.into_rest());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        let source = child.exec();
        Err(Error::File { action: "run", path, source })
    }
    #[cfg(not(unix))]
    {
        let status = child.status().map_err(Error::file("run", &path))?;
        Ok(status.code().map_or(exit::ERROR, |c| u8::try_from(c).unwrap_or(exit::ERROR)))
    }
}

/// What `ccbreaker-net` runs: the commands that use the network.
pub fn run_net(args: Vec<OsString>, io: &mut Io) -> u8 {
    let result = dispatch_net(args, io);
    exit_code(result, io)
}

fn dispatch_net(args: Vec<OsString>, io: &mut Io) -> Result<u8, Error> {
    let mut args = Args::new(args);
    match args.next_word()?.as_deref() {
        Some("reconcile") => reconcile::reconcile(args, io),
        Some("-V" | "--version") => {
            writeln!(io.stdout, "ccbreaker-net {}", env!("CARGO_PKG_VERSION"))?;
            Ok(exit::OK)
        }
        Some(other) => Err(Error::usage(format!("`{NET_BINARY}` runs `reconcile`, not `{other}`"))),
        None => Err(Error::usage(format!("`{NET_BINARY}` runs `reconcile`: use `ccbreaker reconcile`"))),
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
