//! The `ccbreaker` binary: reads the environment once and hands the command line to the library (`cli::run`).

use std::io::IsTerminal;
use std::process::ExitCode;

fn main() -> ExitCode {
    let env = ccbreaker::env::Env::from_process();
    let stdin = std::io::stdin();
    let mut io = ccbreaker::cli::Io {
        stdin_is_terminal: stdin.is_terminal(),
        stdin: &mut stdin.lock(),
        stdout_is_terminal: std::io::stdout().is_terminal(),
        stdout: &mut std::io::stdout().lock(),
        stderr: &mut std::io::stderr().lock(),
        env: &env,
    };
    ExitCode::from(ccbreaker::cli::run(std::env::args_os().skip(1).collect(), &mut io))
}
