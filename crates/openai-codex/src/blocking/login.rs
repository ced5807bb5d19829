//! Blocking login handles for the ChatGPT browser and device-code flows.

use std::time::Duration;

use openai_codex_protocol as proto;

use super::codex::Codex;
use crate::error::Result;
use crate::login::{AsyncChatgptLoginHandle, AsyncDeviceCodeLoginHandle};

#[allow(unused_imports)] // referenced by the docs
use crate::error::Error;

/// A ChatGPT browser login in progress: open [`auth_url`](Self::auth_url) in a browser, then
/// [`wait`](Self::wait).
///
/// ```no_run
/// # fn demo(codex: &openai_codex::Codex) -> openai_codex::Result<()> {
/// let login = codex.login_chatgpt()?;
/// println!("open {}", login.auth_url);
/// let done = login.wait_timeout(std::time::Duration::from_secs(300))?;
/// println!("logged in: {}", done.success);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct ChatgptLoginHandle {
    codex: Codex,
    inner: AsyncChatgptLoginHandle,
    /// The login attempt's id.
    pub login_id: String,
    /// The URL to open in a browser.
    pub auth_url: String,
}

/// A ChatGPT device-code login in progress: show [`user_code`](Self::user_code) and
/// [`verification_url`](Self::verification_url) to the user, then [`wait`](Self::wait).
///
/// ```no_run
/// # fn demo(codex: &openai_codex::Codex) -> openai_codex::Result<()> {
/// let login = codex.login_chatgpt_device_code()?;
/// println!("enter {} at {}", login.user_code, login.verification_url);
/// let done = login.wait()?;
/// println!("logged in: {}", done.success);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct DeviceCodeLoginHandle {
    codex: Codex,
    inner: AsyncDeviceCodeLoginHandle,
    /// The login attempt's id.
    pub login_id: String,
    /// Where the user enters the code.
    pub verification_url: String,
    /// The code to enter.
    pub user_code: String,
}

impl ChatgptLoginHandle {
    pub(crate) fn new(codex: Codex, inner: AsyncChatgptLoginHandle) -> Self {
        Self {
            login_id: inner.login_id.clone(),
            auth_url: inner.auth_url.clone(),
            codex,
            inner,
        }
    }
}

impl DeviceCodeLoginHandle {
    pub(crate) fn new(codex: Codex, inner: AsyncDeviceCodeLoginHandle) -> Self {
        Self {
            login_id: inner.login_id.clone(),
            verification_url: inner.verification_url.clone(),
            user_code: inner.user_code.clone(),
            codex,
            inner,
        }
    }
}

macro_rules! login_handle_methods {
    ($ty:ident) => {
        impl $ty {
            /// Waits for this login to finish (successfully or not: check `success`). Only this
            /// login's completion is consumed; others stay for their own handles.
            ///
            /// # Errors
            /// [`Error::TransportClosed`] when the runtime goes away first;
            /// [`Error::BlockingInAsync`] inside a tokio runtime.
            pub fn wait(&self) -> Result<proto::AccountLoginCompletedNotification> {
                self.codex.call(self.inner.wait())
            }

            /// [`wait`](Self::wait) with a time limit.
            ///
            /// # Errors
            /// [`Error::Timeout`] when the login does not finish in time (the login itself
            /// stays pending; cancel it if it should stop); [`Error::BlockingInAsync`] inside a
            /// tokio runtime.
            pub fn wait_timeout(
                &self,
                timeout: Duration,
            ) -> Result<proto::AccountLoginCompletedNotification> {
                self.codex.call(self.inner.wait_timeout(timeout))
            }

            /// Cancels the login (`canceled`, or `notFound` when it already ended).
            ///
            /// # Errors
            /// [`Error::JsonRpc`] when the runtime refuses; [`Error::BlockingInAsync`] inside a
            /// tokio runtime.
            pub fn cancel(&self) -> Result<proto::CancelLoginAccountResponse> {
                self.codex.call(self.inner.cancel())
            }
        }
    };
}
login_handle_methods!(ChatgptLoginHandle);
login_handle_methods!(DeviceCodeLoginHandle);
