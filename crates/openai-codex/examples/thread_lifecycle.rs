//! Thread lifecycle and controls: start, name, read, list, fork, compact, archive, unarchive.
//!
//! ```sh
//! cargo run -p openai-codex --example thread_lifecycle
//! ```

use openai_codex::{
    AsyncCodex, CodexConfig, ThreadForkOptions, ThreadListOptions, ThreadStartOptions, TurnOptions,
};

#[tokio::main]
async fn main() -> openai_codex::Result<()> {
    let codex = AsyncCodex::new(CodexConfig::default()).await?;

    // A thread is stored once it has run a turn.
    let thread = codex.thread_start(ThreadStartOptions::default()).await?;
    thread
        .run(
            "Give me a one-line fun fact about octopuses.",
            TurnOptions::default(),
        )
        .await?;
    thread.set_name("Octopus facts").await?;

    let read = thread.read(false).await?;
    println!(
        "thread {}: name {:?}, preview {:?}",
        read.thread.id, read.thread.name, read.thread.preview
    );

    // List the most recent threads, one page.
    let page = codex
        .thread_list(ThreadListOptions::default().limit(5))
        .await?;
    println!("recent threads:");
    for listed in &page.data {
        println!(
            "  {}  {}",
            listed.id,
            listed.name.as_deref().unwrap_or(&listed.preview)
        );
    }

    // A fork copies the history into a new thread that goes its own way.
    let fork = codex
        .thread_fork(thread.id(), ThreadForkOptions::default())
        .await?;
    let answer = fork
        .run("Now one about squids.", TurnOptions::default())
        .await?;
    println!(
        "fork {}: {}",
        fork.id(),
        answer.final_response.as_deref().unwrap_or("(no answer)")
    );

    // Compaction summarizes the history; it runs as a turn of its own, which we wait for.
    let compaction = thread.compact_turn().await?;
    let compacted = compaction.run().await?;
    println!("compacted the original thread ({:?})", compacted.status);

    // Archived threads leave the default listing; unarchiving loads them again, ready to run.
    codex.thread_archive(fork.id()).await?;
    let archived = codex
        .thread_list(ThreadListOptions::default().archived(true))
        .await?;
    println!(
        "archived fork listed under archived: {}",
        archived.data.iter().any(|t| t.id == fork.id())
    );
    let restored = codex.thread_unarchive(fork.id()).await?;
    let again = restored
        .run("And one about cuttlefish.", TurnOptions::default())
        .await?;
    println!(
        "unarchived fork answers again: {}",
        again.final_response.as_deref().unwrap_or("(no answer)")
    );

    codex.close().await;
    Ok(())
}
