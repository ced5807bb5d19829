//! The blocking face of the SDK: [`Codex`], [`Thread`], [`TurnHandle`] and the login handles,
//! with the same names, methods, arguments and results as their async twins, minus `async`.
//!
//! It is a thin layer over the async core (reqwest's way). A [`Codex`] owns a tokio runtime that
//! lives on a thread of its own; every blocking method runs its async twin there and waits for
//! the result, and between calls the runtime keeps routing notifications and answering server
//! requests (approvals, user input). Blocking streams are iterators over the async stream's
//! `next`: [`TurnIter`] for a turn's events, [`Events`] for the global ones. A [`TurnIter`]
//! takes events that have already arrived without entering the runtime; it only waits there.
//!
//! Calling a blocking method from inside a tokio runtime (an `async fn`, a task, or a
//! `spawn_blocking` closure) returns [`Error::BlockingInAsync`](crate::Error::BlockingInAsync)
//! at once instead of stalling or deadlocking the executor: use [`crate::AsyncCodex`] there,
//! for example through [`Codex::async_client`].
//!
//! ```no_run
//! use openai_codex::{Codex, CodexConfig, ThreadStartOptions, TurnOptions};
//!
//! # fn main() -> openai_codex::Result<()> {
//! let codex = Codex::new(CodexConfig::default())?;
//! let thread = codex.thread_start(ThreadStartOptions::default())?;
//! let turn = thread.turn("Explain borrowing in one sentence", TurnOptions::default())?;
//! for event in turn.stream() {
//!     println!("{:?}", event?);
//! }
//! println!("{:?}", turn.run()?.final_response);
//! # Ok(()) }
//! ```
//!
//! Enabled by the default cargo feature `blocking`.

mod codex;
mod daemon;
mod goal;
mod goal_turn;
mod iter;
mod login;
mod pool;
mod retry;
mod runtime;
mod thread;
mod turn;

pub use codex::{Codex, Events};
pub use daemon::LocalDaemon;
pub use goal::GoalHandle;
pub use goal_turn::{GoalTurn, GoalTurnIter};
pub use login::{ChatgptLoginHandle, DeviceCodeLoginHandle};
pub use pool::CodexPool;
pub use retry::retry_on_overload;
pub use thread::Thread;
pub use turn::{TurnHandle, TurnIter};
