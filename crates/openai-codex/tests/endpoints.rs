//! Connecting to a runtime that is already running: the real runtime listening on
//! `ws://127.0.0.1:0` and on a Unix socket, each auth mode, against the scripted model.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;
use openai_codex::approval::Handlers;
use openai_codex::types::{
    self as proto, CommandExecutionApprovalDecision, CommandExecutionRequestApprovalResponse,
    ServerNotification, TurnStatus,
};
use openai_codex::{
    ApprovalMode, AsyncCodex, Codex, CodexConfig, Endpoint, Error, ReconnectPolicy, Sandbox,
    SignedBearer, ThreadStartOptions, TurnEvent, TurnOptions,
};
use openai_codex_testkit::{
    AssistantMessage, ExecCommand, Listen, ListeningRuntime, ResponseScript, RuntimeHome,
};

const TOKEN: &str = "capability-token-for-tests-0123456789";
const SECRET: &[u8] = b"shared-secret-for-signed-bearer-tests-0123456789";

fn write_secret(home: &RuntimeHome, name: &str, bytes: &[u8]) -> String {
    let path = home.codex_home().join(name);
    std::fs::write(&path, bytes).unwrap();
    path.to_string_lossy().into_owned()
}

fn listen_token(home: &RuntimeHome) -> ListeningRuntime {
    let file = write_secret(home, "ws-token", TOKEN.as_bytes());
    home.listen(
        &Listen::Loopback(0),
        &["--ws-auth", "capability-token", "--ws-token-file", &file],
    )
    .unwrap()
}

fn listen_jwt(home: &RuntimeHome) -> ListeningRuntime {
    let file = write_secret(home, "ws-secret", SECRET);
    home.listen(
        &Listen::Loopback(0),
        &[
            "--ws-auth",
            "signed-bearer-token",
            "--ws-shared-secret-file",
            &file,
            "--ws-issuer",
            "sdk-tests",
            "--ws-audience",
            "codex-app-server",
        ],
    )
    .unwrap()
}

fn socket_path(home: &RuntimeHome) -> std::path::PathBuf {
    // Unix socket paths are limited to ~100 bytes; the home's folder can be deeper than that.
    let dir = tempfile::Builder::new()
        .prefix("cx")
        .tempdir_in(std::env::temp_dir())
        .unwrap()
        .keep();
    let _ = home;
    dir.join("rt.sock")
}

fn bearer() -> SignedBearer {
    SignedBearer::new(SECRET.to_vec())
        .issuer("sdk-tests")
        .audience("codex-app-server")
}

/// A streamed turn, a command approval answered by a handler, and an interrupt: the same
/// behaviour as over stdio.
async fn full_session(home: &RuntimeHome, codex: &AsyncCodex) {
    let thread = codex
        .thread_start(
            ThreadStartOptions::default()
                .cwd(home.workspace().to_string_lossy())
                .approval_mode(ApprovalMode::Manual)
                .sandbox(Sandbox::ReadOnly),
        )
        .await
        .unwrap();

    // Streaming: deltas in order, turn/started first and turn/completed last.
    home.model().push(
        ResponseScript::new()
            .message(AssistantMessage::final_answer("Hello over the wire.").chunks(4)),
    );
    let turn = thread
        .turn("Say hello", TurnOptions::default())
        .await
        .unwrap();
    let mut stream = turn.stream();
    let mut methods = Vec::new();
    let mut text = String::new();
    while let Some(event) = stream.next().await {
        let TurnEvent::Notification(n) = event.unwrap() else {
            panic!("lagged on a tiny turn")
        };
        if let ServerNotification::ItemAgentMessageDelta(d) = &*n {
            text.push_str(&d.delta);
        }
        methods.push(n.method().to_string());
    }
    drop(stream);
    assert_eq!(methods.first().map(String::as_str), Some("turn/started"));
    assert_eq!(methods.last().map(String::as_str), Some("turn/completed"));
    assert_eq!(text, "Hello over the wire.");
    let result = turn.run().await.unwrap();
    assert_eq!(
        result.final_response.as_deref(),
        Some("Hello over the wire.")
    );

    // An approval request travels back over the socket to the handler, and its answer returns.
    let seen = Arc::new(Mutex::new(Vec::<
        proto::CommandExecutionRequestApprovalParams,
    >::new()));
    let seen2 = Arc::clone(&seen);
    thread.set_handler(Handlers::new().on_command_approval(move |params| {
        seen2.lock().unwrap().push(params);
        async move {
            Ok(CommandExecutionRequestApprovalResponse {
                decision: CommandExecutionApprovalDecision::Accept,
                extra: Default::default(),
            })
        }
    }));
    let file = home.workspace().join("approved.txt");
    home.model().push(
        ResponseScript::new().exec_command(
            ExecCommand::new(format!("touch {} && echo created", file.display()))
                .login(false)
                .escalated("Need to create a file"),
        ),
    );
    home.model().push(ResponseScript::text("Created."));
    let result = thread
        .run("Create the file", TurnOptions::default())
        .await
        .unwrap();
    assert_eq!(result.status, TurnStatus::Completed);
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert_eq!(seen.lock().unwrap()[0].turn_id, result.id);
    assert!(file.exists());

    // Interrupt a slow turn.
    let before = home.model().turn_requests().len();
    home.model().push(
        ResponseScript::new()
            .message(AssistantMessage::new("one two three four five six").chunks(6))
            .delay_between(Duration::from_millis(200)),
    );
    let turn = thread.turn("slow", TurnOptions::default()).await.unwrap();
    home.model()
        .wait_for_requests_async(before + 1, Duration::from_secs(20))
        .await
        .unwrap();
    turn.interrupt().await.unwrap();
    let result = turn.run().await.unwrap();
    assert_eq!(result.status, TurnStatus::Interrupted);
}

#[tokio::test]
async fn unix_socket_runs_a_full_session() {
    let home = RuntimeHome::new().unwrap();
    let path = socket_path(&home);
    let runtime = home.listen(&Listen::Unix(path.clone()), &[]).unwrap();
    let codex = AsyncCodex::connect(runtime.url(), CodexConfig::default())
        .await
        .unwrap();
    assert_eq!(codex.runtime_pid(), None);
    assert_eq!(
        codex.endpoint().unwrap().to_string(),
        format!("unix://{}", path.display())
    );
    assert_eq!(
        codex.metadata().server_version,
        openai_codex::config::PINNED_RUNTIME_VERSION
    );
    full_session(&home, &codex).await;
    codex.close().await;
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[tokio::test]
async fn websocket_with_capability_token_runs_a_full_session() {
    let home = RuntimeHome::new().unwrap();
    let runtime = listen_token(&home);
    let endpoint = Endpoint::parse(runtime.url())
        .unwrap()
        .capability_token(TOKEN);
    let codex = AsyncCodex::connect(endpoint, CodexConfig::default())
        .await
        .unwrap();
    full_session(&home, &codex).await;
    codex.close().await;
}

#[tokio::test]
async fn websocket_with_signed_bearer_runs_a_full_session() {
    let home = RuntimeHome::new().unwrap();
    let runtime = listen_jwt(&home);
    let endpoint = Endpoint::parse(runtime.url())
        .unwrap()
        .signed_bearer(bearer());
    // The endpoint can also be named by the configuration.
    let codex = AsyncCodex::new(CodexConfig::default().endpoint(endpoint))
        .await
        .unwrap();
    full_session(&home, &codex).await;
    codex.close().await;
}

#[tokio::test]
async fn rejected_credentials_are_typed_with_status_and_reason() {
    let home = RuntimeHome::new().unwrap();
    let token_rt = listen_token(&home);
    let jwt_rt = listen_jwt(&home);
    let config = || CodexConfig::default().request_timeout(Duration::from_secs(10));
    let cases: Vec<(Endpoint, &str)> = vec![
        (
            Endpoint::parse(token_rt.url()).unwrap(),
            "missing websocket bearer token",
        ),
        (
            Endpoint::parse(token_rt.url())
                .unwrap()
                .capability_token("wrong"),
            "invalid websocket bearer token",
        ),
        (
            Endpoint::parse(jwt_rt.url()).unwrap().auth_header(
                "Authorization",
                format!("Bearer {}", {
                    // Signed an hour ago, valid for a minute: expired.
                    bearer()
                        .ttl(Duration::from_secs(60))
                        .sign_at(SystemTime::now() - Duration::from_secs(3600))
                        .unwrap()
                }),
            ),
            "expired websocket jwt",
        ),
        (
            Endpoint::parse(jwt_rt.url())
                .unwrap()
                .signed_bearer(bearer().audience("someone-else")),
            "websocket jwt audience mismatch",
        ),
        (
            Endpoint::parse(jwt_rt.url()).unwrap().signed_bearer(
                SignedBearer::new(b"not the secret".to_vec())
                    .issuer("sdk-tests")
                    .audience("codex-app-server"),
            ),
            "invalid websocket jwt",
        ),
    ];
    for (endpoint, reason) in cases {
        let url = endpoint.to_string();
        let started = Instant::now();
        let error = AsyncCodex::connect(endpoint, config()).await.unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{url} took {:?}",
            started.elapsed()
        );
        match &error {
            Error::AuthRejected {
                endpoint,
                status,
                reason: got,
            } => {
                assert_eq!(*status, 401, "{error}");
                assert_eq!(got, reason, "{error}");
                assert_eq!(endpoint, &url);
            }
            other => panic!("expected AuthRejected for {url}, got {other}"),
        }
    }
}

#[tokio::test]
async fn unreachable_and_insecure_endpoints_fail_before_anything_is_sent() {
    // Nothing listens on this port: refused, at once.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let error = AsyncCodex::connect(format!("ws://127.0.0.1:{port}"), CodexConfig::default())
        .await
        .unwrap_err();
    let Error::Connect { endpoint, source } = &error else {
        panic!("{error}")
    };
    assert_eq!(source.kind(), std::io::ErrorKind::ConnectionRefused);
    assert_eq!(endpoint, &format!("ws://127.0.0.1:{port}/"));

    // No socket at this path.
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("none.sock");
    let error = AsyncCodex::connect(Endpoint::unix(&missing), CodexConfig::default())
        .await
        .unwrap_err();
    let Error::Connect { source, .. } = &error else {
        panic!("{error}")
    };
    assert_eq!(source.kind(), std::io::ErrorKind::NotFound);

    // A token to a non-loopback plain ws:// address is refused before connecting (the address
    // is from TEST-NET-1, which nothing answers; a connect attempt would time out instead).
    let endpoint = Endpoint::parse("ws://192.0.2.1:4500")
        .unwrap()
        .capability_token(TOKEN)
        .connect_timeout(Duration::from_secs(30));
    let started = Instant::now();
    let error = AsyncCodex::connect(endpoint, CodexConfig::default())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InsecureEndpoint { .. }), "{error}");
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(error.to_string().contains("wss://"), "{error}");

    // A malformed URL names the problem.
    let error = AsyncCodex::connect("http://127.0.0.1:1", CodexConfig::default())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::InvalidInput { .. }), "{error}");
}

/// A test CA and a certificate for 127.0.0.1 it signed: (CA PEM, server certificate chain,
/// server key).
fn test_pki() -> (
    String,
    Vec<tokio_rustls::rustls::pki_types::CertificateDer<'static>>,
    tokio_rustls::rustls::pki_types::PrivateKeyDer<'static>,
) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "openai-codex test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca, ca_key);
    let server_key = rcgen::KeyPair::generate().unwrap();
    let server = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&server_key, &issuer)
        .unwrap();
    let key = tokio_rustls::rustls::pki_types::PrivateKeyDer::try_from(server_key.serialize_der())
        .unwrap();
    (ca_cert.pem(), vec![server.der().clone()], key)
}

/// A TLS-terminating proxy on 127.0.0.1 in front of `backend` (the runtime's ws port), as a
/// load balancer or ingress would be. Returns its port; it runs until the test ends.
async fn tls_proxy(
    backend: u16,
    chain: Vec<tokio_rustls::rustls::pki_types::CertificateDer<'static>>,
    key: tokio_rustls::rustls::pki_types::PrivateKeyDer<'static>,
) -> u16 {
    use tokio_rustls::rustls;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that refuses the certificate ends the handshake; nothing to relay.
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut upstream) = tokio::net::TcpStream::connect(("127.0.0.1", backend)).await
                else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
            });
        }
    });
    port
}

#[tokio::test]
async fn wss_through_a_tls_proxy_runs_a_full_session_with_a_private_ca() {
    let home = RuntimeHome::new().unwrap();
    let runtime = listen_token(&home);
    let (ca_pem, chain, key) = test_pki();
    let port = tls_proxy(runtime.port().unwrap(), chain, key).await;
    let endpoint = Endpoint::parse(&format!("wss://127.0.0.1:{port}"))
        .unwrap()
        .capability_token(TOKEN)
        .ca_certificate_pem(ca_pem.into_bytes());
    let codex = AsyncCodex::connect(endpoint, CodexConfig::default())
        .await
        .unwrap();
    assert_eq!(
        codex.metadata().server_version,
        openai_codex::config::PINNED_RUNTIME_VERSION
    );
    full_session(&home, &codex).await;
    codex.close().await;
}

#[tokio::test]
async fn tls_failures_are_typed() {
    let home = RuntimeHome::new().unwrap();
    let runtime = listen_token(&home);
    let backend = runtime.port().unwrap();
    // A certificate from a CA the client was not told to trust.
    let (_, chain, key) = test_pki();
    let port = tls_proxy(backend, chain, key).await;
    let (other_ca, _, _) = test_pki();
    for endpoint in [
        Endpoint::parse(&format!("wss://127.0.0.1:{port}")).unwrap(),
        Endpoint::parse(&format!("wss://127.0.0.1:{port}"))
            .unwrap()
            .ca_certificate_pem(other_ca.into_bytes()),
    ] {
        let started = Instant::now();
        let error = AsyncCodex::connect(endpoint.capability_token(TOKEN), CodexConfig::default())
            .await
            .unwrap_err();
        assert!(matches!(error, Error::Tls { .. }), "{error}");
        let text = error.to_string();
        assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
        assert!(text.to_lowercase().contains("certificate"), "{text}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }
    // wss:// to a listener that does not speak TLS (the runtime's plain ws port).
    let error = AsyncCodex::connect(format!("wss://127.0.0.1:{backend}"), CodexConfig::default())
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Tls { .. }), "{error}");
}

#[tokio::test]
async fn killing_the_runtime_mid_turn_fails_every_waiter_promptly_naming_the_endpoint() {
    let home = RuntimeHome::new().unwrap();
    let mut runtime = listen_token(&home);
    let endpoint = Endpoint::parse(runtime.url())
        .unwrap()
        .capability_token(TOKEN);
    let url = endpoint.to_string();
    let codex = AsyncCodex::connect(endpoint, CodexConfig::default())
        .await
        .unwrap();
    // A turn whose model never finishes, so it is running when the runtime dies.
    home.model().push(
        ResponseScript::new()
            .message(AssistantMessage::new("never finishes").chunks(2))
            .delay_between(Duration::from_secs(600)),
    );
    let thread = codex
        .thread_start(ThreadStartOptions::default())
        .await
        .unwrap();
    let turn = thread.turn("hang", TurnOptions::default()).await.unwrap();
    home.model()
        .wait_for_requests_async(1, Duration::from_secs(20))
        .await
        .unwrap();
    let waiting_turn = tokio::spawn({
        let turn = turn.clone();
        async move { turn.run().await }
    });
    let waiting_request = tokio::spawn({
        let codex = codex.clone();
        async move {
            codex
                .request_with_timeout::<openai_codex::types::requests::ThreadLoadedList>(
                    Default::default(),
                    Duration::from_secs(600),
                )
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let killed = Instant::now();
    runtime.kill();
    let turn_error = tokio::time::timeout(Duration::from_secs(5), waiting_turn)
        .await
        .expect("the turn waiter hung")
        .unwrap()
        .unwrap_err();
    assert!(killed.elapsed() < Duration::from_secs(5));
    assert!(turn_error.is_transport_closed(), "{turn_error}");
    assert!(turn_error.to_string().contains(&url), "{turn_error}");
    let _ = tokio::time::timeout(Duration::from_secs(5), waiting_request)
        .await
        .expect("the request waiter hung")
        .unwrap();
    // Every later call fails the same way, at once.
    let later = codex.models(false).await.unwrap_err();
    assert!(
        later.is_transport_closed() && later.to_string().contains(&url),
        "{later}"
    );
    assert!(codex.is_closed());
}

#[tokio::test]
async fn messages_larger_than_the_advertised_frame_limit_travel_both_ways() {
    let home = RuntimeHome::new().unwrap();
    let path = socket_path(&home);
    let runtime = home.listen(&Listen::Unix(path.clone()), &[]).unwrap();
    let codex = AsyncCodex::connect(runtime.url(), CodexConfig::default())
        .await
        .unwrap();
    // 20 MB of text in one request: above the runtime's 16 MiB unfragmented limit, so the SDK
    // sends it as a fragmented message; the runtime must take it and answer.
    let big = "x".repeat(20 * 1024 * 1024);
    let thread = codex
        .thread_start(ThreadStartOptions::default().base_instructions(big.clone()))
        .await
        .unwrap();
    // A final answer of 17 MiB: the runtime sends it back inside one message (the completed
    // item), larger than one default frame.
    let answer = "y".repeat(17 * 1024 * 1024);
    home.model()
        .push(ResponseScript::new().message(AssistantMessage::final_answer(answer.clone())));
    let result = thread.run("Echo", TurnOptions::default()).await.unwrap();
    assert_eq!(
        result.final_response.as_ref().map(String::len),
        Some(answer.len())
    );
    assert!(result.final_response == Some(answer));
    codex.close().await;
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[test]
fn blocking_client_connects_too() {
    let home = RuntimeHome::new().unwrap();
    let runtime = listen_token(&home);
    let endpoint = Endpoint::parse(runtime.url())
        .unwrap()
        .capability_token(TOKEN);
    let codex = Codex::connect(endpoint, CodexConfig::default()).unwrap();
    home.model()
        .push(ResponseScript::new().message(AssistantMessage::final_answer("Blocking hello.")));
    let thread = codex.thread_start(ThreadStartOptions::default()).unwrap();
    let result = thread.run("Hi", TurnOptions::default()).unwrap();
    assert_eq!(result.final_response.as_deref(), Some("Blocking hello."));
    assert!(codex.endpoint().is_some());
    codex.close();
}

#[tokio::test]
async fn with_reconnect_on_the_client_comes_back_after_a_restart_and_resumes_the_thread() {
    let home = RuntimeHome::new().unwrap();
    let mut runtime = listen_token(&home);
    let port = runtime.port().unwrap();
    let endpoint = Endpoint::parse(runtime.url())
        .unwrap()
        .capability_token(TOKEN);
    let codex = AsyncCodex::new(
        CodexConfig::default().endpoint(endpoint).reconnect(
            ReconnectPolicy::default()
                .max_attempts(200)
                .initial_delay(Duration::from_millis(50))
                .max_delay(Duration::from_millis(200)),
        ),
    )
    .await
    .unwrap();
    home.model()
        .push(ResponseScript::new().message(AssistantMessage::final_answer("First answer.")));
    let thread = codex
        .thread_start(ThreadStartOptions::default())
        .await
        .unwrap();
    let result = thread.run("one", TurnOptions::default()).await.unwrap();
    assert_eq!(result.final_response.as_deref(), Some("First answer."));

    // A turn is running when the runtime dies: it is reported as ended by the disconnect.
    home.model().push(
        ResponseScript::new()
            .message(AssistantMessage::new("never finishes").chunks(2))
            .delay_between(Duration::from_secs(600)),
    );
    let running = thread.turn("two", TurnOptions::default()).await.unwrap();
    home.model()
        .wait_for_requests_async(2, Duration::from_secs(20))
        .await
        .unwrap();
    runtime.kill();
    let error = tokio::time::timeout(Duration::from_secs(5), running.run())
        .await
        .expect("the running turn hung")
        .unwrap_err();
    assert!(error.is_transport_closed(), "{error}");
    // While the runtime is down, calls fail at once instead of hanging.
    assert!(codex.models(false).await.unwrap_err().is_transport_closed());
    assert_eq!(codex.reconnect_count(), 0);

    // Restart on the same port (same home, so the thread is on disk).
    home.model().clear_queue();
    let file = write_secret(&home, "ws-token", TOKEN.as_bytes());
    let _restarted = home
        .listen(
            &Listen::Loopback(port),
            &["--ws-auth", "capability-token", "--ws-token-file", &file],
        )
        .unwrap();
    codex.wait_connected(Duration::from_secs(20)).await.unwrap();
    assert_eq!(codex.reconnect_count(), 1);
    let resumed = codex
        .thread_resume(thread.id(), Default::default())
        .await
        .unwrap();
    home.model()
        .push(ResponseScript::new().message(AssistantMessage::final_answer("After the restart.")));
    let result = resumed.run("three", TurnOptions::default()).await.unwrap();
    assert_eq!(result.final_response.as_deref(), Some("After the restart."));
    // The interrupted turn was not replayed: the model saw "one", "two", then "three".
    let texts: Vec<_> = home
        .model()
        .turn_requests()
        .iter()
        .filter_map(|r| r.last_user_text())
        .collect();
    assert_eq!(texts, ["one", "two", "three"]);
    codex.close().await;
    assert!(codex.wait_connected(Duration::from_secs(1)).await.is_err());
}

#[tokio::test]
async fn keepalive_detects_a_peer_that_stopped_answering() {
    let home = RuntimeHome::new().unwrap();
    let runtime = home.listen(&Listen::Loopback(0), &[]).unwrap();
    let endpoint = Endpoint::parse(runtime.url())
        .unwrap()
        .keepalive(Duration::from_millis(200), Duration::from_millis(1000));
    let codex = AsyncCodex::connect(endpoint, CodexConfig::default())
        .await
        .unwrap();
    // Freeze the runtime: the socket stays open but nothing answers, not even pings.
    let pid = runtime.pid().unwrap().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-STOP", &pid])
        .status()
        .unwrap()
        .success());
    let started = Instant::now();
    let error = codex
        .request_with_timeout::<openai_codex::types::requests::ThreadLoadedList>(
            Default::default(),
            Duration::from_secs(60),
        )
        .await
        .unwrap_err();
    let waited = started.elapsed();
    let _ = std::process::Command::new("kill")
        .args(["-CONT", &pid])
        .status();
    assert!(error.is_transport_closed(), "{error}");
    assert!(error.to_string().contains("no frame"), "{error}");
    assert!(waited < Duration::from_secs(5), "detected after {waited:?}");
}

#[tokio::test]
async fn the_fake_app_server_listens_like_the_runtime_for_benchmarks() {
    use std::io::BufRead;
    let bin = openai_codex_testkit::fake_server::fake_app_server_bin();
    let mut child = std::process::Command::new(&bin)
        .args(["app-server", "--listen", "ws://127.0.0.1:0"])
        .env(
            openai_codex_testkit::fake_server::SCENARIO_ENV,
            r#"{"deltas":3000}"#,
        )
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let url = std::io::BufReader::new(stderr)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| {
            l.split("listening on: ")
                .nth(1)
                .map(|u| u.trim().to_string())
        })
        .unwrap();
    // Two clients one after the other, each a full session.
    for _ in 0..2 {
        let codex = AsyncCodex::connect(url.as_str(), CodexConfig::default())
            .await
            .unwrap();
        let thread = codex
            .thread_start(ThreadStartOptions::default())
            .await
            .unwrap();
        let turn = thread.turn("go", TurnOptions::default()).await.unwrap();
        let mut deltas = 0;
        let mut stream = turn.stream();
        while let Some(event) = stream.next().await {
            if let TurnEvent::Notification(n) = event.unwrap() {
                if matches!(&*n, ServerNotification::ItemAgentMessageDelta(_)) {
                    deltas += 1;
                }
            }
        }
        assert_eq!(deltas, 3000);
        codex.close().await;
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// A child process killed and reaped when the test lets go of it, also on a failed assertion.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits (at most 5 s) until the client has noticed that its connection is gone.
async fn wait_lost(codex: &AsyncCodex) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !codex.is_closed() {
        assert!(Instant::now() < deadline, "the loss went unnoticed");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The fake app-server listening on `ws://127.0.0.1:{port}` (0: any), reporting `version`.
/// Returns the process and its URL.
fn fake_listener(port: u16, version: &str) -> (Reaped, String) {
    use std::io::BufRead;
    let bin = openai_codex_testkit::fake_server::fake_app_server_bin();
    let mut child = std::process::Command::new(&bin)
        .args(["app-server", "--listen", &format!("ws://127.0.0.1:{port}")])
        .env(
            openai_codex_testkit::fake_server::SCENARIO_ENV,
            format!(r#"{{"version":"{version}"}}"#),
        )
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let url = std::io::BufReader::new(stderr)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| {
            l.split("listening on: ")
                .nth(1)
                .map(|u| u.trim().to_string())
        })
        .expect("the fake app-server did not listen");
    (Reaped(child), url)
}

#[tokio::test]
async fn a_reconnect_rechecks_the_runtime_version_and_refuses_one_outside_the_policy() {
    let (first, url) = fake_listener(0, "0.163.0");
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    let codex = AsyncCodex::new(
        CodexConfig::default()
            .endpoint(Endpoint::parse(&url).unwrap())
            .reconnect(
                ReconnectPolicy::default()
                    .max_attempts(200)
                    .initial_delay(Duration::from_millis(20))
                    .max_delay(Duration::from_millis(100)),
            ),
    )
    .await
    .unwrap();
    assert_eq!(codex.metadata().server_version, "0.163.0");

    // A patch release behind the same endpoint fits the default policy (same minor).
    drop(first);
    wait_lost(&codex).await;
    let (patched, _) = fake_listener(port, "0.163.9");
    codex.wait_connected(Duration::from_secs(20)).await.unwrap();
    assert_eq!(codex.reconnect_count(), 1);
    codex.models(false).await.unwrap();

    // Then a runtime of another minor version takes the port: the client refuses it, typed,
    // and stops trying instead of talking to it.
    drop(patched);
    wait_lost(&codex).await;
    let (newer, _) = fake_listener(port, "0.170.2");
    let error = codex
        .wait_connected(Duration::from_secs(20))
        .await
        .unwrap_err();
    match &error {
        Error::RuntimeVersionMismatch {
            runtime, binary, ..
        } => {
            assert_eq!(runtime, "0.170.2");
            assert!(binary.contains(&url), "{error}");
        }
        other => panic!("expected a version mismatch, got {other}"),
    }
    assert!(error.to_string().contains("version_policy"), "{error}");
    let error = codex.models(false).await.unwrap_err();
    assert!(
        matches!(error, Error::RuntimeVersionMismatch { .. }),
        "{error}"
    );
    assert_eq!(codex.reconnect_count(), 1);
    codex.close().await;
    drop(newer);
}
