//! Error handling and retry: typed errors, `retry_on_overload`, and a failed turn's partial
//! result.
//!
//! ```sh
//! cargo run -p openai-codex --example errors_and_retry
//! ```

use openai_codex::{
    retry_on_overload, AsyncCodex, CodexConfig, Error, RetryOptions, ThreadResumeOptions,
    ThreadStartOptions, TurnOptions,
};

#[tokio::main]
async fn main() -> openai_codex::Result<()> {
    let codex = AsyncCodex::new(CodexConfig::default()).await?;
    let thread = codex.thread_start(ThreadStartOptions::default()).await?;

    // 1. Bad arguments are rejected before anything is sent.
    match thread
        .run("Hello", TurnOptions::default().effort("  "))
        .await
    {
        Err(Error::InvalidInput { field, message }) => {
            println!("1. invalid input `{field}`: {message}")
        }
        other => println!("1. unexpected: {other:?}"),
    }

    // 2. The runtime's JSON-RPC errors keep their code, message and data, and map to a kind.
    match codex
        .thread_resume(
            "00000000-0000-4000-8000-000000000000",
            ThreadResumeOptions::default(),
        )
        .await
    {
        Err(error @ Error::JsonRpc { .. }) => {
            let rpc = error.rpc_error().expect("a JSON-RPC error");
            println!(
                "2. JSON-RPC error {} ({:?}), retryable: {}: {}",
                rpc.code,
                error.kind(),
                error.is_retryable(),
                rpc.message
            );
        }
        other => println!("2. unexpected: {other:?}"),
    }

    // 3. Retry a turn while the service is overloaded (exponential backoff with jitter).
    let mut attempts = 0;
    let outcome = retry_on_overload(
        || {
            attempts += 1;
            println!("3. attempt {attempts}");
            thread.run(
                "Write a haiku about retrying politely.",
                TurnOptions::default(),
            )
        },
        RetryOptions::default(),
    )
    .await;
    match outcome {
        Ok(result) => println!(
            "3. answer after {attempts} attempt(s):\n{}",
            result.final_response.as_deref().unwrap_or("(no answer)")
        ),
        Err(error) if error.is_retryable() => println!("3. still overloaded, giving up: {error}"),
        Err(error) => return Err(error),
    }

    // 4. A failed turn is `Error::TurnFailed`, carrying what the turn produced before it failed.
    match thread
        .run("Hello", TurnOptions::default().model("no-such-model"))
        .await
    {
        Err(Error::TurnFailed(failed)) => {
            let partial = &failed.result;
            println!("4. turn failed: {}", failed.message());
            println!(
                "   status {:?}, {} item(s) kept, error info {:?}",
                partial.status,
                partial.items.len(),
                partial
                    .error
                    .as_ref()
                    .and_then(|e| e.codex_error_info.as_ref())
            );
        }
        Err(other) => println!("4. the request itself failed: {other}"),
        Ok(result) => println!("4. unexpectedly succeeded: {:?}", result.final_response),
    }

    codex.close().await;
    Ok(())
}
