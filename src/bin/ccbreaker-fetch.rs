//! `ccbreaker-fetch prices update [--from URL] [--force]`: `ccbreaker prices update` that can read a URL. It is a
//! binary of its own so that the HTTP and TLS code (ureq, rustls) never loads with `ccbreaker`, whose start-up
//! every hook call pays; it runs no other command.

use std::io::IsTerminal;
use std::process::ExitCode;

/// The largest body accepted (LiteLLM's whole table is about 1.5 MB).
const MAX_BYTES: u64 = 64 << 20;

fn fetch(url: &str) -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>> {
    let agent: ureq::Agent =
        ureq::Agent::config_builder().timeout_global(Some(std::time::Duration::from_secs(60))).build().into();
    let mut response = agent.get(url).call()?;
    Ok(response.body_mut().with_config().limit(MAX_BYTES).read_to_vec()?)
}

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    if args.len() < 2 || args[0] != "prices" || args[1] != "update" {
        eprintln!(
            "usage: ccbreaker-fetch prices update [--from FILE|URL] [--force] [--i-am-human]\n\
             (every other command is `ccbreaker`'s)"
        );
        return ExitCode::from(64);
    }
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
        fetch: Some(fetch),
    };
    ExitCode::from(ccbreaker::cli::run(args, &mut io))
}
