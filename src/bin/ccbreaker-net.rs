//! `ccbreaker-net`: ccbreaker's commands that talk to the network (today `reconcile`, which asks Anthropic's Admin
//! API). They live in a binary of their own so that the hook's binary carries no HTTP or TLS code: linking it made
//! every start of `ccbreaker` (every hook call) measurably slower. `ccbreaker reconcile` runs this binary, found
//! beside `ccbreaker`.

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
    };
    ExitCode::from(ccbreaker::cli::run_net(std::env::args_os().skip(1).collect(), &mut io))
}
