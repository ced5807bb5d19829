//! Image + text in one turn: a small PNG sent as a `data:` URL (an `https://` URL works the same).
//!
//! ```sh
//! cargo run -p openai-codex --example image_input
//! ```

use openai_codex::{
    AsyncCodex, CodexConfig, ImageInput, InputItem, TextInput, ThreadStartOptions, TurnOptions,
};

/// An 8x8 PNG filled with one orange-red colour, base64-encoded.
const RED_SQUARE_PNG_BASE64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAgAAAAICAIAAABLbSncAAAAEUlEQVR42mN4ZqOBFTEMLQkAbChSgX34mjoAAAAASUVORK5CYII=";

#[tokio::main]
async fn main() -> openai_codex::Result<()> {
    let codex = AsyncCodex::new(CodexConfig::default()).await?;
    let thread = codex.thread_start(ThreadStartOptions::default()).await?;

    let input: Vec<InputItem> = vec![
        TextInput::new("What colour is this image? Answer in a few words.").into(),
        ImageInput::new(format!("data:image/png;base64,{RED_SQUARE_PNG_BASE64}")).into(),
    ];
    let result = thread.run(input, TurnOptions::default()).await?;
    println!(
        "{}",
        result.final_response.as_deref().unwrap_or("(no answer)")
    );

    codex.close().await;
    Ok(())
}
