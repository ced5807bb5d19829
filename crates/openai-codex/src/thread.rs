//! Threads (filled in with the typed layer).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Per-thread locks that serialize `turn/start` on one thread while other threads go in parallel.
#[derive(Debug, Default)]
pub(crate) struct TurnLocks {
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl TurnLocks {
    /// Takes the lock for `thread_id`; entries are removed when nobody holds or waits for them.
    pub(crate) async fn lock(&self, thread_id: &str) -> TurnLockGuard<'_> {
        let lock = Arc::clone(
            self.locks
                .lock()
                .expect("turn locks poisoned")
                .entry(thread_id.to_string())
                .or_default(),
        );
        let guard = Arc::clone(&lock).lock_owned().await;
        TurnLockGuard {
            owner: self,
            thread_id: thread_id.to_string(),
            guard: Some(guard),
        }
    }
}

/// Held while a turn starts on a thread.
pub(crate) struct TurnLockGuard<'a> {
    owner: &'a TurnLocks,
    thread_id: String,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Drop for TurnLockGuard<'_> {
    fn drop(&mut self) {
        self.guard.take();
        let mut locks = self.owner.locks.lock().expect("turn locks poisoned");
        if let Some(lock) = locks.get(&self.thread_id) {
            // Only the map holds it: nobody waits, forget the entry.
            if Arc::strong_count(lock) == 1 {
                locks.remove(&self.thread_id);
            }
        }
    }
}
