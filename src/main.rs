//! The `ccbreaker` binary: reads the environment once and hands the command line to the library (`cli::run`).

use std::io::IsTerminal;
use std::process::ExitCode;

fn main() -> ExitCode {
    let env = ccbreaker::env::Env::from_process();
    let (stdin, stdout, stderr) = (std::io::stdin(), std::io::stdout(), std::io::stderr());
    let (mut out, mut err) = (stdout.lock(), stderr.lock());
    let mut io = ccbreaker::cli::Io {
        stdin_is_terminal: stdin.is_terminal(),
        stdin: &mut stdin.lock(),
        stdout_is_terminal: stdout.is_terminal(),
        stdout: ccbreaker::cli::Out::stdout(&mut out),
        stderr_is_terminal: stderr.is_terminal(),
        stderr: ccbreaker::cli::Out::stderr(&mut err),
        env: &env,
        // ccbreaker reads no network; `ccbreaker-fetch prices update` does.
        fetch: None,
    };
    ExitCode::from(ccbreaker::cli::run(std::env::args_os().skip(1).collect(), &mut io))
}
