//! A raw app-server session against a [`RuntimeHome`]: spawn, handshake, one thread, and turns
//! whose messages are collected until `turn/completed`.

#![allow(dead_code)] // each test binary uses a different subset

use std::time::Duration;

use openai_codex_testkit::{RawClient, RuntimeHome};
use serde_json::{json, Value};

/// Generous: a turn normally finishes in well under a second.
pub const TIMEOUT: Duration = Duration::from_secs(30);

pub struct Session {
    // Drop order: the runtime process goes before its home folder and mock model.
    pub client: RawClient,
    pub home: RuntimeHome,
    pub thread_id: String,
}

impl Session {
    /// Starts the runtime for `home` and a thread with `params` (cwd = the workspace unless given;
    /// `approvalPolicy: never` and `sandbox: workspace-write` unless given).
    pub async fn start(home: RuntimeHome, params: Value) -> Self {
        let mut client = home.spawn_app_server().expect("spawn the pinned runtime");
        client.initialize(TIMEOUT).await.expect("initialize");
        let mut thread_params = json!({
            "cwd": home.workspace(),
            "approvalPolicy": "never",
            "sandbox": "workspace-write",
        });
        for (key, value) in params.as_object().cloned().unwrap_or_default() {
            thread_params[key] = value;
        }
        let response = client
            .request("thread/start", thread_params, TIMEOUT)
            .await
            .expect("thread/start");
        let thread_id = response["result"]["thread"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("thread/start failed: {response}"))
            .to_owned();
        Self {
            client,
            home,
            thread_id,
        }
    }

    /// Sends `turn/start` with one text input; returns the turn id.
    pub async fn start_turn(&mut self, text: &str) -> String {
        self.start_turn_with(text, json!({})).await
    }

    /// `turn/start` with extra params (for example `outputSchema`).
    pub async fn start_turn_with(&mut self, text: &str, extra: Value) -> String {
        let mut params = json!({
            "threadId": self.thread_id,
            "input": [{"type": "text", "text": text}],
        });
        for (key, value) in extra.as_object().cloned().unwrap_or_default() {
            params[key] = value;
        }
        let response = self
            .client
            .request("turn/start", params, TIMEOUT)
            .await
            .expect("turn/start");
        response["result"]["turn"]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("turn/start failed: {response}"))
            .to_owned()
    }

    /// Collects every message until `turn/completed` for `turn_id` (included), answering server
    /// requests with `answer` (a JSON-RPC error when it returns `None`).
    pub async fn collect_turn(
        &mut self,
        turn_id: &str,
        mut answer: impl FnMut(&Value) -> Option<Value>,
    ) -> Turn {
        let mut messages = Vec::new();
        loop {
            let message =
                self.client.next_message(TIMEOUT).await.unwrap_or_else(|e| {
                    panic!("waiting for turn/completed: {e}; got {messages:#?}")
                });
            if message.get("method").is_some() && message.get("id").is_some() {
                let reply = match answer(&message) {
                    Some(result) => json!({"id": message["id"], "result": result}),
                    None => json!({"id": message["id"],
                                   "error": {"code": -32601, "message": "not handled by the test"}}),
                };
                self.client
                    .send(&reply)
                    .await
                    .expect("answer server request");
            }
            let done =
                message["method"] == "turn/completed" && message["params"]["turn"]["id"] == turn_id;
            messages.push(message);
            if done {
                return Turn { messages };
            }
        }
    }

    /// Starts a turn and collects it, refusing every server request.
    pub async fn run_turn(&mut self, text: &str) -> Turn {
        let turn_id = self.start_turn(text).await;
        self.collect_turn(&turn_id, |_| None).await
    }
}

/// The messages of one turn, in arrival order.
#[derive(Debug)]
pub struct Turn {
    pub messages: Vec<Value>,
}

impl Turn {
    /// Params of the notifications with this method.
    pub fn notifications(&self, method: &str) -> Vec<&Value> {
        self.messages
            .iter()
            .filter(|m| m["method"] == method && m.get("id").is_none())
            .map(|m| &m["params"])
            .collect()
    }

    /// Server requests with this method (whole messages).
    pub fn server_requests(&self, method: &str) -> Vec<&Value> {
        self.messages
            .iter()
            .filter(|m| m["method"] == method && m.get("id").is_some())
            .collect()
    }

    /// The completed items of this type.
    pub fn completed_items(&self, item_type: &str) -> Vec<&Value> {
        self.notifications("item/completed")
            .into_iter()
            .map(|p| &p["item"])
            .filter(|item| item["type"] == item_type)
            .collect()
    }

    /// The `turn` object of `turn/completed`.
    pub fn turn(&self) -> &Value {
        &self.messages.last().expect("turn/completed")["params"]["turn"]
    }

    /// `turn.status`.
    pub fn status(&self) -> &str {
        self.turn()["status"].as_str().unwrap_or("")
    }
}
