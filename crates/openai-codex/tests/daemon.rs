//! The runtime's managed local daemon, for real: started on demand through
//! `codex app-server daemon start` for a test home, shared by two clients that each run a turn
//! against the scripted model, and stopped at the end with no process left behind.

use std::path::{Path, PathBuf};

use openai_codex::{
    AsyncCodex, AsyncLocalDaemon, Endpoint, Error, LocalDaemon, ThreadStartOptions, TurnOptions,
};
use openai_codex_testkit::{AssistantMessage, ResponseScript, RuntimeHome};

/// The daemon's processes as its pid files record them.
fn recorded_pids(home: &Path) -> Vec<u32> {
    ["daemon.pid", "daemon-updater.pid"]
        .iter()
        .filter_map(|file| {
            let bytes = std::fs::read(home.join("app-server-daemon").join(file)).ok()?;
            let json: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
            u32::try_from(json["pid"].as_u64()?).ok()
        })
        .collect()
}

/// Whether `pid` is a live daemon process (not a zombie, not a recycled pid).
fn is_daemon_process(pid: u32) -> bool {
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    String::from_utf8_lossy(&cmdline).contains("app-server")
}

/// Kills whatever daemon processes are left when the test ends, also after a failed assertion.
struct KillLeftovers(PathBuf);

impl Drop for KillLeftovers {
    fn drop(&mut self) {
        for pid in recorded_pids(&self.0) {
            if is_daemon_process(pid) {
                let _ = std::process::Command::new("kill")
                    .args(["-9", &pid.to_string()])
                    .status();
            }
        }
    }
}

/// Answers "<the user's text>, served" so each client's turn shows it got its own answer.
fn echo(home: &RuntimeHome) {
    home.model().set_responder(|request| {
        ResponseScript::new().message(
            AssistantMessage::final_answer(format!(
                "{}, served",
                request.last_user_text().unwrap_or_default()
            ))
            .chunks(3),
        )
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_share_one_daemon_started_on_demand_and_stop_leaves_nothing_running() {
    let home = RuntimeHome::new().unwrap();
    let _cleanup = KillLeftovers(home.codex_home().to_path_buf());
    echo(&home);
    let daemon = AsyncLocalDaemon::new(home.codex_home(), home.config());
    assert!(!daemon.status().await.unwrap().running);

    // Without start_if_needed nothing is started: a typed connect error naming the socket.
    let error = AsyncCodex::connect(Endpoint::local_daemon(home.codex_home()), home.config())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Connect { .. }), "{error}");
    assert!(
        error.to_string().contains("app-server-control.sock"),
        "{error}"
    );

    // The first program starts the daemon on demand.
    let first = daemon.connect().await.unwrap();
    let status = daemon.status().await.unwrap();
    assert!(status.running, "{status:?}");
    assert_eq!(
        status.app_server_version.as_deref(),
        Some(openai_codex::config::PINNED_RUNTIME_VERSION)
    );
    let pids = recorded_pids(home.codex_home());
    assert_eq!(pids.len(), 2, "the daemon and its updater loop");
    assert!(pids.iter().all(|&pid| is_daemon_process(pid)));

    // A second program finds it running and shares it: no second daemon.
    let second = AsyncCodex::connect(
        Endpoint::local_daemon(home.codex_home()).start_if_needed(),
        home.config(),
    )
    .await
    .unwrap();
    assert_eq!(daemon.start().await.unwrap().status, "alreadyRunning");
    assert_eq!(recorded_pids(home.codex_home()), pids);
    assert_eq!(first.metadata().codex_home, second.metadata().codex_home);

    // Each runs a turn at the same time on the one runtime and gets its own answer.
    let options = || ThreadStartOptions::default().cwd(home.workspace().to_string_lossy());
    let (a, b) = tokio::join!(
        async {
            let thread = first.thread_start(options()).await.unwrap();
            let result = thread.run("first", TurnOptions::default()).await.unwrap();
            (thread.id().to_string(), result.final_response)
        },
        async {
            let thread = second.thread_start(options()).await.unwrap();
            let result = thread.run("second", TurnOptions::default()).await.unwrap();
            (thread.id().to_string(), result.final_response)
        }
    );
    assert_eq!(a.1.as_deref(), Some("first, served"));
    assert_eq!(b.1.as_deref(), Some("second, served"));
    // One runtime: each client sees the other's thread.
    let listed = second.thread_list(Default::default()).await.unwrap();
    let ids: Vec<&str> = listed.data.iter().map(|t| t.id.as_str()).collect();
    assert!(
        ids.contains(&a.0.as_str()) && ids.contains(&b.0.as_str()),
        "{ids:?}"
    );

    // Closing a client leaves the daemon to the others.
    first.close().await;
    assert!(second.models(false).await.is_ok());
    second.close().await;
    assert!(daemon.status().await.unwrap().running);

    let stopped = daemon.stop().await.unwrap();
    assert!(!stopped.running, "{stopped:?}");
    for pid in pids {
        assert!(!is_daemon_process(pid), "daemon process {pid} left running");
    }
    assert!(!daemon.status().await.unwrap().running);
}

#[test]
fn the_blocking_twin_reports_and_refuses_the_same() {
    let home = RuntimeHome::new().unwrap();
    let daemon = LocalDaemon::new(home.codex_home(), home.config());
    assert_eq!(daemon.codex_home(), home.codex_home());
    assert!(!daemon.status().unwrap().running);
    // Stopping a daemon that is not running says so and starts nothing.
    assert_eq!(daemon.stop().unwrap().status, "notRunning");
    assert!(recorded_pids(home.codex_home()).is_empty());
    // Asking to start something that is not a local daemon is refused before any I/O.
    let error = openai_codex::Codex::connect(
        Endpoint::parse("ws://127.0.0.1:9")
            .unwrap()
            .start_if_needed(),
        home.config(),
    )
    .unwrap_err();
    assert!(matches!(error, Error::InvalidInput { .. }), "{error}");
}
