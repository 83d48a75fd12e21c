//! `ccbreaker-net`: ccbreaker's commands that talk to the network: `reconcile` (Anthropic's Admin API) and
//! `prices update` (LiteLLM's table from a URL). They live in a binary of their own so that the hook's binary carries
//! no HTTP or TLS code: linking it made every start of `ccbreaker` (every hook call) measurably slower.
//! `ccbreaker reconcile` and `ccbreaker prices update --from URL` run this binary, found beside `ccbreaker`.

fn main() -> std::process::ExitCode {
    ccbreaker::cli::main(ccbreaker::cli::run_net)
}
