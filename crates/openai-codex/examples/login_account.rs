//! Login and account: log in with the API key from `OPENAI_API_KEY` when it is set, otherwise
//! just show the account status. `--chatgpt` starts a ChatGPT browser login, `--device-code` a
//! device-code login.
//!
//! ```sh
//! cargo run -p openai-codex --example login_account
//! OPENAI_API_KEY=sk-... cargo run -p openai-codex --example login_account
//! cargo run -p openai-codex --example login_account -- --device-code
//! ```

use std::time::Duration;

use openai_codex::types::Account;
use openai_codex::{AsyncCodex, CodexConfig};

#[tokio::main]
async fn main() -> openai_codex::Result<()> {
    let codex = AsyncCodex::new(CodexConfig::default()).await?;
    let flag = std::env::args().nth(1);

    match flag.as_deref() {
        Some("--chatgpt") => {
            let login = codex.login_chatgpt().await?;
            println!(
                "Open this URL in a browser to log in:\n  {}",
                login.auth_url
            );
            let done = login.wait_timeout(Duration::from_secs(300)).await?;
            println!("login finished: success = {}", done.success);
        }
        Some("--device-code") => {
            let login = codex.login_chatgpt_device_code().await?;
            println!(
                "Go to {} and enter the code {}",
                login.verification_url, login.user_code
            );
            let done = login.wait_timeout(Duration::from_secs(900)).await?;
            println!("login finished: success = {}", done.success);
        }
        _ => match std::env::var("OPENAI_API_KEY") {
            Ok(key) if !key.trim().is_empty() => {
                codex.login_api_key(key.trim()).await?;
                println!("logged in with the API key from OPENAI_API_KEY");
            }
            _ => println!("OPENAI_API_KEY is not set; showing the account status only"),
        },
    }

    let status = codex.account(false).await?;
    match &status.account {
        Some(Account::ApiKey(_)) => println!("account: API key"),
        Some(Account::Chatgpt(chatgpt)) => println!(
            "account: ChatGPT {} (plan {:?})",
            chatgpt.email.as_deref().unwrap_or("(no email)"),
            chatgpt.plan_type
        ),
        Some(other) => println!("account: {other:?}"),
        None => println!("account: not logged in"),
    }
    println!(
        "the configured model provider {} OpenAI authentication",
        if status.requires_openai_auth {
            "requires"
        } else {
            "does not require"
        }
    );

    codex.close().await;
    Ok(())
}
