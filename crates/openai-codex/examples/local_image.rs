//! Local image + text: write a tiny PNG to a temporary file and send its path. The SDK checks
//! that the file is readable before anything is sent; the runtime reads and uploads it.
//!
//! ```sh
//! cargo run -p openai-codex --example local_image
//! ```

use openai_codex::{
    AsyncCodex, CodexConfig, InputItem, LocalImageInput, TextInput, ThreadStartOptions, TurnOptions,
};

/// An 8x8 PNG filled with one orange-red colour.
const RED_SQUARE_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x08, 0x08, 0x02, 0x00, 0x00, 0x00, 0x4b, 0x6d, 0x29,
    0xdc, 0x00, 0x00, 0x00, 0x11, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0x78, 0x66, 0xa3, 0x81,
    0x15, 0x31, 0x0c, 0x2d, 0x09, 0x00, 0x6c, 0x28, 0x52, 0x81, 0x7d, 0xf8, 0x9a, 0x3a, 0x00, 0x00,
    0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::temp_dir().join(format!("codex-example-{}.png", std::process::id()));
    std::fs::write(&path, RED_SQUARE_PNG)?;
    println!("wrote {} ({} bytes)", path.display(), RED_SQUARE_PNG.len());

    let codex = AsyncCodex::new(CodexConfig::default()).await?;
    let thread = codex.thread_start(ThreadStartOptions::default()).await?;
    let input: Vec<InputItem> = vec![
        TextInput::new("Describe this image in one sentence.").into(),
        LocalImageInput::new(&path).into(),
    ];
    let result = thread.run(input, TurnOptions::default()).await;
    std::fs::remove_file(&path).ok();
    println!(
        "{}",
        result?.final_response.as_deref().unwrap_or("(no answer)")
    );

    codex.close().await;
    Ok(())
}
