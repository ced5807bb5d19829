//! Login handles for the ChatGPT browser and device-code flows.

use std::time::Duration;

use openai_codex_protocol::{self as proto, requests, ServerNotification};

use crate::codex::AsyncCodex;
use crate::error::{Error, Result};

/// Waits for the completion of one login, consuming only that login's notification.
async fn wait_for(
    codex: &AsyncCodex,
    login_id: &str,
    timeout: Option<Duration>,
) -> Result<proto::AccountLoginCompletedNotification> {
    let router = &codex.inner.conn().shared.router;
    let wait = router.wait_login(login_id);
    let event = match timeout {
        Some(limit) => match tokio::time::timeout(limit, wait).await {
            Ok(event) => event?,
            Err(_) => {
                router.forget_login(login_id);
                return Err(Error::Timeout {
                    method: "account/login/completed".into(),
                    timeout: limit,
                });
            }
        },
        None => wait.await?,
    };
    match &*event {
        ServerNotification::AccountLoginCompleted(done) => Ok(done.clone()),
        other => Err(Error::Protocol(format!(
            "login {login_id} completed with an undecodable payload: {other:?}"
        ))),
    }
}

async fn cancel(codex: &AsyncCodex, login_id: &str) -> Result<proto::CancelLoginAccountResponse> {
    let params = proto::CancelLoginAccountParams {
        login_id: login_id.to_string(),
        extra: Default::default(),
    };
    codex.call::<requests::AccountLoginCancel>(&params).await
}

/// A ChatGPT browser login in progress: open [`auth_url`](Self::auth_url) in a browser, then
/// [`wait`](Self::wait).
#[derive(Clone, Debug)]
pub struct AsyncChatgptLoginHandle {
    codex: AsyncCodex,
    /// The login attempt's id.
    pub login_id: String,
    /// The URL to open in a browser.
    pub auth_url: String,
}

/// A ChatGPT device-code login in progress: show [`user_code`](Self::user_code) and
/// [`verification_url`](Self::verification_url) to the user, then [`wait`](Self::wait).
#[derive(Clone, Debug)]
pub struct AsyncDeviceCodeLoginHandle {
    codex: AsyncCodex,
    /// The login attempt's id.
    pub login_id: String,
    /// Where the user enters the code.
    pub verification_url: String,
    /// The code to enter.
    pub user_code: String,
}

macro_rules! login_handle_methods {
    ($ty:ident) => {
        impl $ty {
            /// Waits for this login to finish (successfully or not: check `success`). Only this
            /// login's completion is consumed; others stay for their own handles.
            ///
            /// # Errors
            /// [`Error::TransportClosed`] when the runtime goes away first.
            ///
            /// # Examples
            ///
            /// ```no_run
            /// # async fn example(codex: openai_codex::AsyncCodex) -> openai_codex::Result<()> {
            /// let login = codex.login_chatgpt().await?;
            /// println!("open {}", login.auth_url);
            /// let done = login.wait().await?;
            /// println!("success: {}, error: {:?}", done.success, done.error);
            /// # Ok(()) }
            /// ```
            pub async fn wait(&self) -> Result<proto::AccountLoginCompletedNotification> {
                wait_for(&self.codex, &self.login_id, None).await
            }

            /// [`wait`](Self::wait) with a time limit.
            ///
            /// # Errors
            /// [`Error::Timeout`] when the login does not finish in time (the login itself
            /// stays pending; cancel it if it should stop).
            ///
            /// # Examples
            ///
            /// ```no_run
            /// # async fn example(codex: openai_codex::AsyncCodex) -> openai_codex::Result<()> {
            /// use std::time::Duration;
            ///
            /// let login = codex.login_chatgpt().await?;
            /// if login.wait_timeout(Duration::from_secs(300)).await.is_err() {
            ///     login.cancel().await?;
            /// }
            /// # Ok(()) }
            /// ```
            pub async fn wait_timeout(
                &self,
                timeout: Duration,
            ) -> Result<proto::AccountLoginCompletedNotification> {
                wait_for(&self.codex, &self.login_id, Some(timeout)).await
            }

            /// Cancels the login (`canceled`, or `notFound` when it already ended).
            ///
            /// # Errors
            /// [`Error::JsonRpc`] when the runtime refuses.
            ///
            /// # Examples
            ///
            /// ```no_run
            /// # async fn example(codex: openai_codex::AsyncCodex) -> openai_codex::Result<()> {
            /// let login = codex.login_chatgpt().await?;
            /// let cancelled = login.cancel().await?;
            /// println!("{:?}", cancelled.status);
            /// # Ok(()) }
            /// ```
            pub async fn cancel(&self) -> Result<proto::CancelLoginAccountResponse> {
                cancel(&self.codex, &self.login_id).await
            }
        }
    };
}
login_handle_methods!(AsyncChatgptLoginHandle);
login_handle_methods!(AsyncDeviceCodeLoginHandle);

impl AsyncChatgptLoginHandle {
    pub(crate) fn new(codex: AsyncCodex, login_id: String, auth_url: String) -> Self {
        Self {
            codex,
            login_id,
            auth_url,
        }
    }
}

impl AsyncDeviceCodeLoginHandle {
    pub(crate) fn new(
        codex: AsyncCodex,
        login_id: String,
        verification_url: String,
        user_code: String,
    ) -> Self {
        Self {
            codex,
            login_id,
            verification_url,
            user_code,
        }
    }
}
