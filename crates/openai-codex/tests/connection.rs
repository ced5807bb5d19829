//! The connection without any process: an in-memory peer scripted line by line.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use openai_codex::transport::Transport;
use openai_codex::{AsyncCodex, CodexConfig, Error};
use serde_json::{json, Value};

/// A peer that answers `initialize` and then hands every further message to `script`.
fn peer(
    stream: UnixStream,
    mut script: impl FnMut(&Value, &mut dyn FnMut(Value)) + Send + 'static,
) -> std::thread::JoinHandle<Vec<Value>> {
    std::thread::spawn(move || {
        let mut writer = stream.try_clone().unwrap();
        let mut seen = Vec::new();
        let mut send = move |v: Value| {
            let mut line = serde_json::to_vec(&v).unwrap();
            line.push(b'\n');
            let _ = writer.write_all(&line);
        };
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            let message: Value = serde_json::from_str(&line).unwrap();
            if message["method"] == "initialize" {
                send(
                    json!({"id": message["id"], "result": {"userAgent": "fake/0.163.0 (x)", "codexHome": "/h"}}),
                );
            } else {
                script(&message, &mut send);
            }
            seen.push(message);
        }
        seen
    })
}

async fn client(
    script: impl FnMut(&Value, &mut dyn FnMut(Value)) + Send + 'static,
) -> (AsyncCodex, std::thread::JoinHandle<Vec<Value>>) {
    let (transport, theirs) = Transport::in_memory().unwrap();
    let handle = peer(theirs, script);
    let config = CodexConfig::default().request_timeout(Duration::from_millis(300));
    let codex = AsyncCodex::with_transport(config, transport).await.unwrap();
    (codex, handle)
}

#[tokio::test]
async fn handshake_sends_client_info_then_initialized() {
    let (codex, peer) = client(|_, _| {}).await;
    assert_eq!(codex.metadata().server_version, "0.163.0");
    codex.close().await;
    let seen = peer.join().unwrap();
    assert_eq!(seen[0]["method"], "initialize");
    assert_eq!(seen[0]["params"]["clientInfo"]["name"], "openai_codex_rust");
    assert_eq!(seen[0]["params"]["capabilities"]["experimentalApi"], true);
    assert_eq!(seen[1], json!({"method": "initialized"}));
}

#[tokio::test]
async fn junk_lines_are_skipped_and_counted() {
    let (codex, _peer) = client(|m, send| {
        send(json!("not an object"));
        let mut junk = serde_json::to_vec(&json!({"id": m["id"], "result": {"ok": true}})).unwrap();
        junk.splice(0..0, b"this is not json\n".iter().copied());
        send(serde_json::from_slice(&junk[17..]).unwrap());
    })
    .await;
    let result = codex.request_raw("x/y", json!({})).await.unwrap();
    assert_eq!(result, json!({"ok": true}));
    assert!(codex.junk_lines() >= 1);
    codex.close().await;
}

#[tokio::test]
async fn an_unanswered_request_times_out_and_the_client_stays_usable() {
    let (codex, _peer) = client(|m, send| {
        if m["method"] == "answer/me" {
            send(json!({"id": m["id"], "result": {}}));
        }
    })
    .await;
    let err = codex
        .request_raw("never/answered", json!({}))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    assert!(err.to_string().contains("never/answered"));
    assert_eq!(
        codex.request_raw("answer/me", Value::Null).await.unwrap(),
        json!({})
    );
    codex.close().await;
}

#[tokio::test]
async fn rpc_errors_keep_the_whole_object() {
    let (codex, _peer) = client(|m, send| {
        send(json!({"id": m["id"], "error": {"code": -32001, "message": "Server overloaded; retry later.", "data": {"codexErrorInfo": "serverOverloaded"}}}));
    })
    .await;
    let err = codex
        .request_raw("thread/start", json!({}))
        .await
        .unwrap_err();
    let rpc = err.rpc_error().expect("a JSON-RPC error");
    assert_eq!(rpc.code.0, -32001);
    assert_eq!(
        rpc.data,
        Some(json!({"codexErrorInfo": "serverOverloaded"}))
    );
    assert!(err.is_retryable());
    codex.close().await;
}

#[tokio::test]
async fn server_requests_get_exactly_one_reply_even_when_the_handler_panics() {
    let replies = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (transport, theirs) = Transport::in_memory().unwrap();
    let replies2 = Arc::clone(&replies);
    let _peer = peer(theirs, move |m, send| {
        if m["method"] == "go" {
            send(
                json!({"id": 0, "method": "item/commandExecution/requestApproval", "params": {"threadId": "t", "turnId": "u", "itemId": "i"}}),
            );
            send(json!({"id": 1, "method": "some/unknownRequest", "params": {}}));
            send(json!({"id": 2, "method": "item/tool/call", "params": {}}));
            send(json!({"id": m["id"], "result": {}}));
        } else if m.get("method").is_none() {
            replies2.lock().unwrap().push(m.clone());
        }
    });
    let codex = AsyncCodex::with_transport(CodexConfig::default(), transport)
        .await
        .unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let calls2 = Arc::clone(&calls);
    codex.set_server_request_handler(move |request: openai_codex_protocol::ServerRequest| {
        calls2.fetch_add(1, Ordering::SeqCst);
        let method = request.method().to_string();
        async move {
            if method == "item/tool/call" {
                panic!("handler bug");
            }
            openai_codex::handler::decline_reply(&method)
        }
    });
    codex.request_raw("go", json!({})).await.unwrap();
    for _ in 0..200 {
        if replies.lock().unwrap().len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut replies = replies.lock().unwrap().clone();
    replies.sort_by_key(|r| r["id"].as_i64());
    assert_eq!(replies.len(), 3, "{replies:?}");
    assert_eq!(
        replies[0],
        json!({"id": 0, "result": {"decision": "decline"}})
    );
    assert_eq!(replies[1]["error"]["code"], -32601);
    assert_eq!(replies[2]["error"]["code"], -32603);
    assert!(replies[2]["error"]["message"]
        .as_str()
        .unwrap()
        .contains("panicked"));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    // The client is still alive after the panic.
    codex.request_raw("go", json!({})).await.unwrap();
    codex.close().await;
}

#[tokio::test]
async fn default_handler_declines_approvals_and_rejects_the_rest() {
    let replies = Arc::new(std::sync::Mutex::new(Vec::new()));
    let replies2 = Arc::clone(&replies);
    let (codex, _peer) = client(move |m, send| {
        if m["method"] == "go" {
            send(json!({"id": 7, "method": "item/fileChange/requestApproval", "params": {"threadId": "t", "turnId": "u", "itemId": "i"}}));
            send(json!({"id": 8, "method": "account/chatgptAuthTokens/refresh", "params": {}}));
            send(json!({"id": m["id"], "result": {}}));
        } else if m.get("method").is_none() {
            replies2.lock().unwrap().push(m.clone());
        }
    })
    .await;
    codex.request_raw("go", json!({})).await.unwrap();
    for _ in 0..200 {
        if replies.lock().unwrap().len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut replies = replies.lock().unwrap().clone();
    replies.sort_by_key(|r| r["id"].as_i64());
    assert_eq!(
        replies[0],
        json!({"id": 7, "result": {"decision": "decline"}})
    );
    assert_eq!(replies[1]["error"]["code"], -32601);
    codex.close().await;
}

#[tokio::test]
async fn peer_hangup_fails_waiters_with_transport_closed() {
    let (codex, _peer) = client(|m, _send| {
        if m["method"] == "die" {
            // resume_unwind skips the panic hook (and its slow backtrace): the peer just dies.
            std::panic::resume_unwind(Box::new("peer exits"));
        }
    })
    .await;
    let err = codex.request_raw("die", json!({})).await.unwrap_err();
    assert!(err.is_transport_closed(), "{err}");
    assert!(codex.is_closed());
    let again = codex
        .request_raw("thread/list", json!({}))
        .await
        .unwrap_err();
    assert!(again.is_transport_closed());
}
