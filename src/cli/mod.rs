//! The command line: a hand-written parser (no CLI framework on the hook path) and one function per command.
//! `--help` and `--version` answer before any config or state is read.

mod alert;
mod allow;
mod args;
mod audit_cmd;
mod config_cmd;
mod digest;
mod doctor;
mod exec;
mod help;
mod install_cmd;
mod log;
mod prices;
mod reconcile;
mod report;
mod status;
mod statusline;

use crate::env::Env;
use crate::error::{Error, OutputError, exit};
use args::Args;
use chrono::{DateTime, Utc};
use std::ffi::OsString;
use std::io::{Read, Write};

pub(crate) const USAGE: &str = "\
ccbreaker: a cost circuit breaker for Claude Code

Usage:
  ccbreaker install [--scope user|project|local] [--statusline [--force]] [--dry-run]
                                    register the hooks (and the statusline) in Claude Code's settings
  sudo ccbreaker install --locked [--prefix DIR]
                                    locked mode: a boundary the agent cannot lift (see the README)
  ccbreaker uninstall [--scope user|project|local] [--dry-run] [--i-am-human]
                                    remove ccbreaker's hook entries and statusline (only those)
  sudo ccbreaker uninstall --locked remove locked mode's managed hooks
  ccbreaker status [--json] [--session ID] [--compact]
                                    today's spend, each session's spend and state, the budgets, the protection
  ccbreaker doctor [--json] [--send]
                                    check hooks, PATH, config, state, client, locked mode, alerts, transcripts
  ccbreaker statusline              Claude Code's statusLine: spend against budgets in one line (stdin: its JSON)
  ccbreaker exec -- COMMAND [ARG...]
                                    run COMMAND (claude -p ...); exit 3 with the reason if ccbreaker stopped it
  ccbreaker report daily|weekly|monthly|session|blocks [--json] [--since DATE] [--until DATE]
                   [--timezone TZ] [--project NAME] [--breakdown] [--compact]
                                    spend of every transcript by day, ISO week, month, session or 5-hour block
  ccbreaker digest [--since 7d|DATE] [--json] [--send]
                                    the week in a few lines, printed or sent through the alert channels
  ccbreaker reconcile [--since YYYY-MM-DD] [--until YYYY-MM-DD] [--csv FILE...] [--json] [--session ID]
                                    the local estimate against what Anthropic billed, per day, model and session
  ccbreaker audit [--since DATE] [--until DATE] [--session ID] [--project NAME] [--json] [--html FILE]
                                    where the money went: waste, cache breaks, overhead creep, anomalies, priced
  ccbreaker allow --session ID [--add-usd N] [--force] [--user NAME] [--i-am-human]
                                    let a blocked session spend N USD more (default: one session budget);
                                    in locked mode, as root (sudo)
  ccbreaker allow --list [--json] | --revoke ID
                                    the grants in force; take one back
  ccbreaker alert test [--json]     send a test alert through every configured channel
  ccbreaker prices list [--json]    the price table in force and where each row comes from
  ccbreaker prices update [--from FILE|URL] [--force] [--i-am-human]
                                    new prices from LiteLLM's public table (default: its URL); in locked
                                    mode, as root (sudo)
  ccbreaker log [--json] [--limit N]
                                    the audit trail: every block, refused tamper attempt and override
  ccbreaker config init [--force] [--i-am-human]
                                    write a commented config file
  ccbreaker config check            validate the config and print the effective values
  ccbreaker config path             print the config file's path
  ccbreaker hook                    what Claude Code runs: reads the hook event on stdin
  ccbreaker gate                    what ccbreaker's mod runs before each model request: JSON on stdin
  ccbreaker COMMAND --help          one command's flags (short: -j json, -s since, -u until, -z timezone)
  ccbreaker --help | --version

Exit codes: 0 ok, 1 error, 2 blocked (hook with on_breach = \"exit-code\"), 3 halted (exec), 64 bad usage.
Environment: CCBREAKER_CONFIG, CCBREAKER_STATE_DIR, CCBREAKER_ON_ERROR, CCBREAKER_LOCK_TIMEOUT_MS, CCBREAKER_LOG,
CCBREAKER_NOW, CCBREAKER_RUN_ID, CLAUDE_CONFIG_DIR, COLUMNS, NO_COLOR, ANTHROPIC_ADMIN_KEY, CCBREAKER_ADMIN_API_URL
(see the README).
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
    if let Some(help) = help::of(&command).filter(|_| args.help()) {
        write!(io.stdout, "{help}")?;
        return Ok(exit::OK);
    }
    match command.as_str() {
        "--help" | "help" => {
            let text = match args.next_word()? {
                Some(command) => {
                    help::of(&command).ok_or_else(|| Error::usage(format!("unknown command `{command}`")))?
                }
                None => USAGE,
            };
            write!(io.stdout, "{text}")?;
            Ok(exit::OK)
        }
        "-V" | "--version" => {
            writeln!(io.stdout, "ccbreaker {}", env!("CARGO_PKG_VERSION"))?;
            Ok(exit::OK)
        }
        "hook" => {
            args.finish()?;
            answer(io, crate::hook::run::run)
        }
        "gate" => {
            args.finish()?;
            answer(io, crate::hook::gate::run)
        }
        "install" => install_cmd::install(args, io),
        "uninstall" => install_cmd::uninstall(args, io),
        "status" => status::status(args, io),
        "report" => report::report(args, io),
        "reconcile" | "alert" => net(io, std::iter::once(command).chain(args.into_rest()).collect()),
        "statusline" => statusline::statusline(args, io),
        "doctor" => doctor::doctor(args, io),
        "exec" => exec::exec(args, io),
        "digest" => digest::digest(args, io, None),
        "audit" => audit_cmd::audit(args, io),
        "allow" => allow::allow(args, io),
        "log" => log::log(args, io),
        "prices" => prices::prices(args, io, None),
        "config" => config_cmd::config(args, io),
        other => Err(Error::usage(format!("unknown command `{other}`"))),
    }
}

/// Runs `args` (a command of `ccbreaker-net`, see `src/bin/ccbreaker-net.rs`) in the network binary, with the same
/// standard streams and environment; its exit code is ours. The binary is the one beside this `ccbreaker`; in locked
/// mode, the root-owned one beside the locked binary (a `ccbreaker` that is not the locked one is refused first, as
/// for every command).
pub(crate) fn net(io: &Io, args: Vec<String>) -> Result<u8, Error> {
    let command = args.first().cloned().unwrap_or_default();
    let place = place(io, &command)?;
    let beside = match place.mode.install() {
        Some(install) => install.binary.clone(),
        None => std::env::current_exe().map_err(Error::file("find the path of", "ccbreaker"))?,
    };
    let path = crate::paths::net_binary_beside(&beside);
    if !path.is_file() {
        return Err(Error::Failed(format!(
            "`ccbreaker {command}` needs `{}` beside `{}` (at `{}`): ./install.sh, `cargo install --path .` and \
             `sudo ccbreaker install --locked` install both",
            crate::paths::NET_BINARY,
            beside.display(),
            path.display()
        )));
    }
    let mut child = std::process::Command::new(&path);
    child.args(args);
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
    let net = crate::paths::NET_BINARY;
    let mut args = Args::new(args);
    match args.next_word()?.as_deref() {
        Some("reconcile") => reconcile::reconcile(args, io),
        Some("prices") => prices::prices(args, io, Some(crate::net::fetch)),
        Some("alert") => alert::alert_net(args, io),
        Some("digest") => digest::digest(args, io, Some(crate::alert::deliver::deliver)),
        Some("-V" | "--version") => {
            writeln!(io.stdout, "{net} {}", env!("CARGO_PKG_VERSION"))?;
            Ok(exit::OK)
        }
        Some(other) => Err(Error::usage(format!(
            "`{net}` runs `reconcile`, `prices update`, `alert` and `digest --send`, not `{other}`"
        ))),
        None => Err(Error::usage(format!(
            "`{net}` holds ccbreaker's commands that use the network: run `ccbreaker reconcile`, `ccbreaker prices \
             update`, `ccbreaker alert test` or `ccbreaker digest --send`"
        ))),
    }
}

/// `hook` and `gate`: the event (or the mod's request) on stdin, `respond`'s answer on stdout and stderr.
fn answer(io: &mut Io, respond: HookFn) -> Result<u8, Error> {
    let mut stdin = Vec::new();
    let limit = crate::hook::event::MAX_STDIN as u64 + 1;
    let answer = match io.stdin.take(limit).read_to_end(&mut stdin) {
        Ok(_) => respond(&stdin, io.env, now(io.env)),
        Err(source) => crate::hook::Answer::error(&Error::Stdin(source).report()),
    };
    io.stdout.write_all(answer.stdout.as_bytes())?;
    io.stderr.write_all(answer.stderr.as_bytes())?;
    Ok(answer.code)
}

type HookFn = fn(&[u8], &Env, Result<DateTime<Utc>, Error>) -> crate::hook::Answer;

/// Where this mode keeps things, for a command other than the hook. In locked mode only the locked binary can
/// reach the state, so any other ccbreaker says which one to run.
pub(crate) fn place(io: &Io, command: &str) -> Result<crate::place::Place, Error> {
    let place = crate::place::Place::resolve(io.env)?;
    if let crate::locked::Mode::Locked(install) = &place.mode
        && !install.is_this_binary()
        && !install.is_its_net_binary()
    {
        return Err(install.not_this_binary(command).into());
    }
    Ok(place)
}

/// The config in force for a command: the file, or its last good copy (with the notice on stderr).
pub(crate) fn config(place: &crate::place::Place, io: &mut Io) -> Result<crate::config::Config, Error> {
    let effective = place.config().map_err(|no| Error::from(no.error))?;
    for warning in &effective.warnings {
        writeln!(io.stderr, "ccbreaker: warning: {warning}")?;
    }
    if let Some(notice) = &effective.notice {
        writeln!(io.stderr, "{notice}")?;
    }
    Ok(effective.config)
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
