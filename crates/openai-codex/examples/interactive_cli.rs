//! A small interactive chat in the terminal.
//!
//! * Each line you type starts a turn; the answer streams in as it is written.
//! * A line typed while a turn runs is sent to that turn as a steer (extra input mid-turn).
//! * Ctrl-C interrupts the running turn (not the program); at the prompt it exits, as do
//!   Ctrl-D and `/quit`.
//!
//! ```sh
//! cargo run -p openai-codex --example interactive_cli
//! ```

use std::io::{BufRead, Write};

use futures::StreamExt;
use openai_codex::types::ServerNotification;
use openai_codex::{AsyncCodex, CodexConfig, ThreadStartOptions, TurnEvent, TurnOptions};
use tokio::sync::mpsc;

#[tokio::main]
async fn main() -> openai_codex::Result<()> {
    let codex = AsyncCodex::new(CodexConfig::default()).await?;
    let thread = codex.thread_start(ThreadStartOptions::default()).await?;
    println!("Codex chat (thread {}).", thread.id());
    println!("Type a message. While Codex answers, a new line steers it and Ctrl-C interrupts it.");
    println!("Ctrl-D or /quit exits.");

    let mut lines = stdin_lines();
    let mut stdin_open = true;
    while stdin_open {
        print!("> ");
        std::io::stdout().flush().ok();
        let line = tokio::select! {
            line = lines.recv() => line,
            _ = tokio::signal::ctrl_c() => None,
        };
        let Some(line) = line else { break };
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if line == "/quit" {
            break;
        }

        let turn = thread.turn(line, TurnOptions::default()).await?;
        let mut events = turn.stream();
        loop {
            tokio::select! {
                event = events.next() => match event {
                    Some(event) => show(&event?),
                    None => break,
                },
                line = lines.recv(), if stdin_open => match line {
                    Some(text) if !text.trim().is_empty() => match turn.steer(text.trim()).await {
                        Ok(_) => println!("\n[steered: {}]", text.trim()),
                        Err(error) => println!("\n[could not steer: {error}]"),
                    },
                    Some(_) => {}
                    // Input ended: let the running turn finish, then exit.
                    None => stdin_open = false,
                },
                _ = tokio::signal::ctrl_c() => {
                    println!("\n[interrupting]");
                    turn.interrupt().await?;
                }
            }
        }
    }
    println!("bye");
    codex.close().await;
    Ok(())
}

/// Prints one event of the running turn.
fn show(event: &TurnEvent) {
    let Some(notification) = event.notification() else {
        return;
    };
    match notification {
        ServerNotification::ItemAgentMessageDelta(delta) => {
            print!("{}", delta.delta);
            std::io::stdout().flush().ok();
        }
        ServerNotification::TurnCompleted(done) => {
            println!("\n[{:?}]", done.turn.status);
        }
        _ => {}
    }
}

/// Reads stdin on a thread of its own (reading a terminal blocks), so the prompt, steering and
/// Ctrl-C can be awaited together.
fn stdin_lines() -> mpsc::UnboundedReceiver<String> {
    let (sender, receiver) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    receiver
}
