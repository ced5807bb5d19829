//! `codex-fake-app-server`: a fault-injecting fake of `codex app-server --listen stdio://`.
//! See `openai_codex_testkit::fake_server` for the scenario format.

fn main() {
    std::process::exit(openai_codex_testkit::fake_server::main_with_args(
        std::env::args(),
    ));
}
