//! Approvals: your program decides what the agent may do beyond its sandbox.
//!
//! The thread runs read-only with `ApprovalMode::Manual`, so anything that needs more (writing a
//! file, for instance) comes to this program as an approval request. The handler shows the
//! command and decides: commands made only of a few harmless programs are accepted, everything
//! else is declined. File changes are declined. (Without a handler, the SDK declines everything;
//! the Python SDK would accept everything.)
//!
//! ```sh
//! cargo run -p openai-codex --example approvals
//! ```

use openai_codex::approval::Handlers;
use openai_codex::types::{
    CommandExecutionApprovalDecision, CommandExecutionRequestApprovalResponse,
    FileChangeApprovalDecision, FileChangeRequestApprovalResponse, ThreadItem,
};
use openai_codex::{
    ApprovalMode, AsyncCodex, CodexConfig, Sandbox, ThreadStartOptions, TurnOptions,
};

/// Programs this example lets the agent run outside the sandbox.
const ALLOWED: [&str; 5] = ["echo", "ls", "cat", "touch", "mkdir"];

/// Whether every part of a shell command line starts with an allowed program. The runtime shows
/// commands as they will run, usually wrapped as `/bin/bash -c '...'`, so the wrapper is looked
/// through.
fn is_allowed(command: &str) -> bool {
    let mut words = command.split_whitespace();
    let shell = words.next().unwrap_or_default();
    let script = if shell.ends_with("sh") && matches!(words.next(), Some("-c" | "-lc")) {
        let rest = command
            .splitn(3, char::is_whitespace)
            .nth(2)
            .unwrap_or_default();
        rest.trim().trim_matches(['\'', '"'])
    } else {
        command
    };
    script
        .split(['&', ';', '|'])
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .all(|part| {
            let program = part.split_whitespace().next().unwrap_or_default();
            ALLOWED.contains(&program)
        })
}

#[tokio::main]
async fn main() -> openai_codex::Result<()> {
    let codex = AsyncCodex::new(CodexConfig::default()).await?;

    let handler = Handlers::new()
        .on_command_approval(|params| async move {
            let command = params.command.clone().unwrap_or_default();
            let accept = is_allowed(&command);
            println!("approval requested: `{command}`");
            if let Some(reason) = &params.reason {
                println!("  reason: {reason}");
            }
            println!("  decision: {}", if accept { "accept" } else { "decline" });
            let decision = if accept {
                CommandExecutionApprovalDecision::Accept
            } else {
                CommandExecutionApprovalDecision::Decline
            };
            Ok(CommandExecutionRequestApprovalResponse {
                decision,
                extra: Default::default(),
            })
        })
        .on_file_change_approval(|params| async move {
            println!(
                "file change requested ({}): declined",
                params.reason.as_deref().unwrap_or("no reason given")
            );
            Ok(FileChangeRequestApprovalResponse {
                decision: FileChangeApprovalDecision::Decline,
                extra: Default::default(),
            })
        });
    codex.set_handler(handler);

    let thread = codex
        .thread_start(
            ThreadStartOptions::default()
                .sandbox(Sandbox::ReadOnly)
                .approval_mode(ApprovalMode::Manual),
        )
        .await?;
    let result = thread
        .run(
            "Create an empty file named hello.txt in the current directory using a shell command.",
            TurnOptions::default(),
        )
        .await?;

    for item in &result.items {
        if let ThreadItem::CommandExecution(command) = item {
            println!("command `{}`: {:?}", command.command, command.status);
        }
    }
    println!(
        "{}",
        result.final_response.as_deref().unwrap_or("(no answer)")
    );
    println!(
        "hello.txt exists: {}",
        std::path::Path::new("hello.txt").exists()
    );

    codex.close().await;
    Ok(())
}
