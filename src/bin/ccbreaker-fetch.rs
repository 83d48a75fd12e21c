//! `ccbreaker-fetch URL`: downloads one URL to standard output, for `ccbreaker prices update`. It is a binary of
//! its own so that the HTTP and TLS code (ureq, rustls) never loads with `ccbreaker`, whose start-up every hook
//! call pays. Exit 0 with the body on stdout; exit 1 with the reason on stderr; 64 for a wrong command line.

use std::io::Write;
use std::process::ExitCode;

/// The largest body accepted (LiteLLM's whole table is about 1.5 MB).
const MAX_BYTES: u64 = 64 << 20;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url] = args.as_slice() else {
        eprintln!("usage: ccbreaker-fetch URL");
        return ExitCode::from(64);
    };
    let agent: ureq::Agent =
        ureq::Agent::config_builder().timeout_global(Some(std::time::Duration::from_secs(60))).build().into();
    let body =
        agent.get(url).call().and_then(|mut response| response.body_mut().with_config().limit(MAX_BYTES).read_to_vec());
    match body {
        Ok(body) => match std::io::stdout().lock().write_all(&body) {
            Ok(()) => ExitCode::SUCCESS,
            Err(err) => {
                eprintln!("ccbreaker-fetch: could not write to standard output: {err}");
                ExitCode::from(1)
            }
        },
        Err(err) => {
            eprintln!("{err}");
            ExitCode::from(1)
        }
    }
}
