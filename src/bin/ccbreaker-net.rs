//! `ccbreaker-net`: ccbreaker's commands that talk to the network (today `reconcile`, which asks Anthropic's Admin
//! API). They live in a binary of their own so that the hook's binary carries no HTTP or TLS code: linking it made
//! every start of `ccbreaker` (every hook call) measurably slower. `ccbreaker reconcile` runs this binary, found
//! beside `ccbreaker`.

fn main() -> std::process::ExitCode {
    ccbreaker::cli::main(ccbreaker::cli::run_net)
}
