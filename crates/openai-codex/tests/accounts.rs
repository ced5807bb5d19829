//! Accounts, logins and models on the real runtime. The ChatGPT flows run offline against a
//! local fake issuer (`CODEX_APP_SERVER_LOGIN_ISSUER`) on 127.0.0.1; nothing else is contacted.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use openai_codex::types::{Account, CancelLoginAccountStatus};
use openai_codex::{AsyncCodex, CodexConfig, Error, ErrorCode, ThreadStartOptions, TurnOptions};
use openai_codex_testkit::fake_server::{fake_app_server_bin, FakeScenario, SCRIPT_ENV};
use openai_codex_testkit::{ResponseScript, RuntimeHome};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LIMIT: Duration = Duration::from_secs(30);
const KEY: &str = "sk-test-DISTINCTIVE-4242-never-show-me";

#[tokio::test]
async fn api_key_login_account_and_logout() {
    let home = RuntimeHome::builder()
        .requires_openai_auth(true)
        .build()
        .unwrap();
    let codex = AsyncCodex::new(home.config()).await.unwrap();
    let before = codex.account(false).await.unwrap();
    assert!(before.account.is_none());
    assert!(before.requires_openai_auth);

    codex.login_api_key(KEY).await.unwrap();
    let after = codex.account(false).await.unwrap();
    assert!(
        matches!(after.account, Some(Account::ApiKey(_))),
        "{after:?}"
    );
    // The runtime now sends the key to the provider; the SDK never shows it.
    home.model().push(ResponseScript::text("Authorized."));
    let thread = codex
        .thread_start(ThreadStartOptions::default())
        .await
        .unwrap();
    thread.run("Hi", TurnOptions::default()).await.unwrap();
    let auth = home.model().last_request().unwrap();
    assert_eq!(
        auth.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert!(!format!("{codex:?} {thread:?}").contains(KEY));

    codex.logout().await.unwrap();
    assert!(codex.account(false).await.unwrap().account.is_none());
    codex.close().await;
}

#[tokio::test]
async fn models_come_from_the_catalog() {
    let home = RuntimeHome::new().unwrap();
    let codex = AsyncCodex::new(home.config()).await.unwrap();
    let models = codex.models(false).await.unwrap();
    let ids: Vec<&str> = models.data.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["mock-model"]);
    assert!(models.next_cursor.is_none());
    codex.close().await;
}

#[tokio::test]
async fn api_key_never_appears_in_errors_or_debug_output() {
    // A runtime that echoes the key back in its error (message and data).
    let scenario = FakeScenario::new().error_for(
        "account/login/start",
        -32600,
        &format!("invalid api key {KEY}"),
        Some(json!({"apiKey": KEY})),
    );
    // The scenario goes in a file, so the key is not in this config's environment by way of
    // the scenario itself.
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("scenario.json");
    std::fs::write(&script, scenario.to_json()).unwrap();
    let config = CodexConfig::default()
        .codex_bin(fake_app_server_bin())
        .env(SCRIPT_ENV, script.to_string_lossy())
        .env("OPENAI_API_KEY", KEY);
    let codex = AsyncCodex::new(config.clone()).await.unwrap();
    let err = codex.login_api_key(KEY).await.unwrap_err();
    assert_eq!(err.rpc_error().unwrap().code, ErrorCode::INVALID_REQUEST);
    for shown in [
        err.to_string(),
        format!("{err:?}"),
        format!("{codex:?}"),
        format!("{config:?}"),
    ] {
        assert!(!shown.contains(KEY), "{shown}");
    }
    assert!(format!("{config:?}").contains("OPENAI_API_KEY"));
    assert!(err.to_string().contains("[redacted]"), "{err}");
    codex.close().await;
}

// ------------------------------------------------------------------------------------------
// A fake ChatGPT issuer and backend.

#[derive(Default)]
struct Issuer {
    hits: Mutex<Vec<String>>,
    polls: Mutex<u32>,
}

fn b64url(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// An unsigned JWT with the claims the runtime reads.
fn jwt() -> String {
    let header = b64url(br#"{"alg":"none","typ":"JWT"}"#);
    let claims = json!({
        "email": "mock@example.com",
        "exp": 4_102_444_800u64,
        "https://api.openai.com/auth": {
            "chatgpt_plan_type": "plus",
            "chatgpt_account_id": "acct-mock",
            "chatgpt_user_id": "user-mock",
        },
    });
    // Unsigned (`alg: none`); the runtime only wants three non-empty parts.
    format!(
        "{header}.{}.{}",
        b64url(claims.to_string().as_bytes()),
        b64url(b"unsigned")
    )
}

async fn start_issuer() -> (SocketAddr, Arc<Issuer>) {
    async fn usercode(State(s): State<Arc<Issuer>>) -> Json<Value> {
        s.hits.lock().unwrap().push("usercode".into());
        Json(json!({"device_auth_id": "dev-1", "user_code": "MOCK-1234", "interval": "1"}))
    }
    async fn token(State(s): State<Arc<Issuer>>) -> axum::response::Response {
        s.hits.lock().unwrap().push("deviceauth/token".into());
        let mut polls = s.polls.lock().unwrap();
        *polls += 1;
        if *polls == 1 {
            // Still pending the first time.
            return StatusCode::FORBIDDEN.into_response();
        }
        Json(
            json!({"authorization_code": "code-1", "code_challenge": "challenge",
                    "code_verifier": "verifier"}),
        )
        .into_response()
    }
    async fn oauth(State(s): State<Arc<Issuer>>) -> Json<Value> {
        s.hits.lock().unwrap().push("oauth/token".into());
        Json(json!({"id_token": jwt(), "access_token": jwt(), "refresh_token": "refresh-1"}))
    }
    async fn check(State(s): State<Arc<Issuer>>) -> Json<Value> {
        s.hits.lock().unwrap().push("accounts/check".into());
        // The runtime insists on an HTTPS origin; this one is local and never answers.
        Json(
            json!({"accounts": [{"id": "acct-mock", "workspace_backend_origin": "https://127.0.0.1:9",
                                  "account_routing_override": "NO_CONSTRAINT"}]}),
        )
    }
    async fn other(State(s): State<Arc<Issuer>>, uri: Uri) -> StatusCode {
        s.hits.lock().unwrap().push(format!("other {uri}"));
        StatusCode::NOT_FOUND
    }
    let state = Arc::new(Issuer::default());
    let app = Router::new()
        .route("/api/accounts/deviceauth/usercode", post(usercode))
        .route("/api/accounts/deviceauth/token", post(token))
        .route("/oauth/token", post(oauth))
        .route("/backend-api/wham/accounts/check", get(check))
        .fallback(other)
        .with_state(Arc::clone(&state));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (addr, state)
}

/// A runtime whose ChatGPT issuer and backend are the local fake.
async fn chatgpt_client(issuer: SocketAddr) -> (RuntimeHome, AsyncCodex) {
    let home = RuntimeHome::builder()
        .requires_openai_auth(true)
        .chatgpt_base_url(format!("http://{issuer}/backend-api/"))
        .build()
        .unwrap();
    let config = home
        .config()
        .env("CODEX_APP_SERVER_LOGIN_ISSUER", format!("http://{issuer}"));
    let codex = AsyncCodex::new(config).await.unwrap();
    (home, codex)
}

#[tokio::test]
async fn device_code_login_completes_against_a_local_issuer() {
    let (addr, issuer) = start_issuer().await;
    let (_home, codex) = chatgpt_client(addr).await;
    let login = codex.login_chatgpt_device_code().await.unwrap();
    assert_eq!(login.user_code, "MOCK-1234");
    assert_eq!(
        login.verification_url,
        format!("http://{addr}/codex/device")
    );
    let done = login.wait_timeout(LIMIT).await.unwrap();
    assert!(done.success, "{done:?} {:?}", issuer.hits.lock().unwrap());
    assert_eq!(done.login_id.as_deref(), Some(login.login_id.as_str()));
    let account = codex.account(false).await.unwrap();
    match account.account {
        Some(Account::Chatgpt(chatgpt)) => {
            assert_eq!(chatgpt.email.as_deref(), Some("mock@example.com"));
            assert_eq!(
                serde_json::to_value(&chatgpt.plan_type).unwrap(),
                json!("plus")
            );
        }
        other => panic!("expected a ChatGPT account, got {other:?}"),
    }
    let hits = issuer.hits.lock().unwrap().clone();
    for step in [
        "usercode",
        "deviceauth/token",
        "oauth/token",
        "accounts/check",
    ] {
        assert!(hits.iter().any(|h| h == step), "{step} missing in {hits:?}");
    }
    codex.logout().await.unwrap();
    codex.close().await;
}

#[tokio::test]
async fn device_code_failure_offline_is_a_typed_error() {
    // A port nobody listens on: the runtime's HTTP call fails at once, locally.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let home = RuntimeHome::new().unwrap();
    let config = home.config().env(
        "CODEX_APP_SERVER_LOGIN_ISSUER",
        format!("http://127.0.0.1:{port}"),
    );
    let codex = AsyncCodex::new(config).await.unwrap();
    let err = codex.login_chatgpt_device_code().await.unwrap_err();
    match &err {
        Error::JsonRpc { method, error } => {
            assert_eq!(method, "account/login/start");
            assert_eq!(error.code, ErrorCode::INTERNAL_ERROR);
            assert!(error.message.contains("device code"), "{err}");
        }
        other => panic!("expected a JSON-RPC error, got {other:?}"),
    }
    codex.close().await;
}

/// GETs a URL on 127.0.0.1 and returns the status line and the `Location` header.
async fn http_get(url: &str) -> (String, Option<String>) {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response).await;
    let status = response.lines().next().unwrap_or_default().to_owned();
    let location = response
        .lines()
        .find_map(|l| {
            l.strip_prefix("location: ")
                .or_else(|| l.strip_prefix("Location: "))
        })
        .map(str::to_owned);
    (status, location)
}

fn query(url: &str) -> HashMap<String, String> {
    url.split_once('?')
        .map(|(_, q)| q)
        .unwrap_or_default()
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Every browser-login check lives in this one test: the runtime's callback listener uses the
/// fixed port 127.0.0.1:1455, so two such tests must not run at once.
#[tokio::test]
async fn chatgpt_browser_login_cancel_and_complete() {
    let (addr, issuer) = start_issuer().await;
    let (_home, codex) = chatgpt_client(addr).await;

    // Start, then cancel: a concurrent wait() returns success = false (not an error).
    let login = codex.login_chatgpt().await.unwrap();
    assert!(
        login
            .auth_url
            .contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A1455%2Fauth%2Fcallback"),
        "{}",
        login.auth_url
    );
    let waiter = {
        let login = login.clone();
        tokio::spawn(async move { login.wait_timeout(LIMIT).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(
        login.cancel().await.unwrap().status,
        CancelLoginAccountStatus::Canceled
    );
    let done = waiter.await.unwrap().unwrap();
    assert!(!done.success);
    assert!(done.error.is_some());
    assert_eq!(
        login.cancel().await.unwrap().status,
        CancelLoginAccountStatus::NotFound
    );

    // Start again and complete it the way a browser would: call the local callback with the
    // state from the auth URL. The runtime exchanges the code at the fake issuer.
    let login = codex.login_chatgpt().await.unwrap();
    let state = query(&login.auth_url)
        .remove("state")
        .expect("state in auth url");
    let mut reply = (String::new(), None);
    for _ in 0..50 {
        // The listener may need a moment after the previous one closed.
        reply = http_get(&format!(
            "http://127.0.0.1:1455/auth/callback?code=browser-code&state={state}"
        ))
        .await;
        if !reply.0.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(reply.0.contains(" 302 "), "{reply:?}");
    // Like a browser, follow the redirect to the local success page.
    let location = reply.1.expect("a redirect");
    let location = if location.starts_with('/') {
        format!("http://127.0.0.1:1455{location}")
    } else {
        location
    };
    let (status, _) = http_get(&location).await;
    assert!(status.contains(" 200 "), "{status}");
    let done = login.wait_timeout(LIMIT).await.unwrap();
    assert!(done.success, "{done:?} {:?}", issuer.hits.lock().unwrap());
    assert!(matches!(
        codex.account(false).await.unwrap().account,
        Some(Account::Chatgpt(_))
    ));
    codex.logout().await.unwrap();
    codex.close().await;
}
