//! Lifecycle of the real runtime: start, metadata, close, drop, crash.

use std::time::{Duration, Instant};

use openai_codex::{AsyncCodex, CodexConfig, Error};

fn home() -> tempfile::TempDir {
    let base = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-homes");
    std::fs::create_dir_all(&base).unwrap();
    let dir = tempfile::tempdir_in(base.canonicalize().unwrap()).unwrap();
    std::fs::write(
        dir.path().join("config.toml"),
        "check_for_update_on_startup = false\n[features]\nplugins = false\nshell_snapshot = false\n",
    )
    .unwrap();
    dir
}

fn config(home: &tempfile::TempDir) -> CodexConfig {
    CodexConfig::default().env("CODEX_HOME", home.path().to_str().unwrap())
}

fn pid_alive(pid: u32) -> bool {
    // A reaped process has no /proc entry; a zombie would still show one.
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

async fn wait_gone(pid: u32, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if !pid_alive(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    !pid_alive(pid)
}

#[tokio::test]
async fn starts_reports_runtime_metadata_and_closes_without_a_zombie() {
    let home = home();
    let codex = AsyncCodex::new(config(&home)).await.unwrap();
    let meta = codex.metadata();
    assert_eq!(meta.server_name, "codex");
    assert_eq!(meta.server_version, "0.163.0");
    assert_eq!(meta.codex_home.as_deref(), home.path().to_str());
    assert!(
        meta.user_agent.starts_with("openai_codex_rust/0.163.0"),
        "{}",
        meta.user_agent
    );
    let pid = codex.runtime_pid().unwrap();
    assert!(pid_alive(pid));
    codex.close().await;
    assert!(!pid_alive(pid), "close() reaps the runtime");
    codex.close().await; // idempotent
    let err = codex
        .request_raw("thread/list", serde_json::json!({}))
        .await
        .unwrap_err();
    assert!(err.is_transport_closed(), "{err}");
}

#[tokio::test]
async fn dropping_the_client_reaps_the_runtime() {
    let home = home();
    let codex = AsyncCodex::new(config(&home)).await.unwrap();
    let pid = codex.runtime_pid().unwrap();
    drop(codex);
    assert!(
        wait_gone(pid, Duration::from_secs(5)).await,
        "runtime {pid} still there"
    );
}

#[tokio::test]
async fn a_killed_runtime_fails_pending_and_later_calls_promptly() {
    let home = home();
    let codex = AsyncCodex::new(config(&home)).await.unwrap();
    let pid = codex.runtime_pid().unwrap();
    std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    let started = Instant::now();
    let err = codex
        .request_raw("thread/list", serde_json::json!({}))
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    let Error::TransportClosed(reason) = &err else {
        panic!("{err}")
    };
    assert!(
        reason
            .exit_status
            .as_deref()
            .unwrap_or("")
            .contains("signal"),
        "{reason:?}"
    );
    codex.close().await;
}

#[tokio::test]
async fn a_missing_binary_is_a_clear_error() {
    let err = AsyncCodex::new(CodexConfig::default().codex_bin("/nonexistent/codex"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::RuntimeNotFound { .. }), "{err}");
    assert!(err.to_string().contains("CodexConfig::codex_bin"));
}
