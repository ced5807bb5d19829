//! The pool over real runtimes: two child processes and two WebSocket listeners with token
//! auth, each with its own home and scripted model.

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt;
use openai_codex::types::{ServerNotification, TurnStatus};
use openai_codex::{
    AsyncCodexPool, CodexConfig, CodexPool, Endpoint, ThreadListOptions, ThreadStartOptions,
    TurnEvent, TurnOptions,
};
use openai_codex_testkit::{
    AssistantMessage, Listen, ListeningRuntime, ResponseScript, RuntimeHome,
};

const TOKEN: &str = "pool-token-0123456789abcdef";

/// Every member answers "<member>: <the user's text>", so a result tells where it ran.
fn echo_as(home: &RuntimeHome, name: String) {
    home.model().set_responder(move |request| {
        ResponseScript::new()
            .message(
                AssistantMessage::final_answer(format!(
                    "{name}: {}",
                    request.last_user_text().unwrap_or_default()
                ))
                .chunks(3),
            )
            .delay_between(Duration::from_millis(10))
    });
}

fn listen(home: &RuntimeHome, port: u16) -> ListeningRuntime {
    let file = home.codex_home().join("ws-token");
    std::fs::write(&file, TOKEN).unwrap();
    home.listen(
        &Listen::Loopback(port),
        &[
            "--ws-auth",
            "capability-token",
            "--ws-token-file",
            &file.to_string_lossy(),
        ],
    )
    .unwrap()
}

fn ws_member(runtime: &ListeningRuntime) -> CodexConfig {
    CodexConfig::default().endpoint(
        Endpoint::parse(runtime.url())
            .unwrap()
            .capability_token(TOKEN),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threads_spread_stay_on_their_member_and_survive_a_member_going_away() {
    let homes: Vec<RuntimeHome> = (0..4).map(|_| RuntimeHome::new().unwrap()).collect();
    for (k, home) in homes.iter().enumerate() {
        echo_as(home, format!("member-{k}"));
    }
    let ws2 = listen(&homes[2], 0);
    let mut ws3 = listen(&homes[3], 0);
    let ws3_port = ws3.port().unwrap();
    let members = vec![
        homes[0].config(),
        homes[1].config(),
        ws_member(&ws2),
        ws_member(&ws3),
    ];
    let pool = AsyncCodexPool::with_health_interval(members, Duration::from_millis(200))
        .await
        .unwrap();

    // 32 threads at once, each streaming one turn.
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let pool = pool.clone();
            tokio::spawn(async move {
                let thread = pool
                    .thread_start(ThreadStartOptions::default())
                    .await
                    .unwrap();
                let member = pool.member_of(thread.id()).unwrap();
                let turn = thread
                    .turn(format!("thread-{i}"), TurnOptions::default())
                    .await
                    .unwrap();
                let mut text = String::new();
                let mut stream = turn.stream();
                while let Some(event) = stream.next().await {
                    let TurnEvent::Notification(n) = event.unwrap() else {
                        continue;
                    };
                    match &*n {
                        ServerNotification::ItemAgentMessageDelta(d) => {
                            assert_eq!(d.turn_id, turn.id());
                            assert_eq!(d.thread_id, thread.id());
                            text.push_str(&d.delta);
                        }
                        ServerNotification::TurnCompleted(c) => {
                            assert_eq!(c.turn.id, turn.id());
                        }
                        _ => {}
                    }
                }
                (i, member, thread.id().to_string(), text)
            })
        })
        .collect();
    let mut per_member: HashMap<usize, usize> = HashMap::new();
    let mut placed = Vec::new();
    for task in tasks {
        let (i, member, thread_id, text) = task.await.unwrap();
        // The turn ran on its thread's member and saw exactly its own deltas.
        assert_eq!(text, format!("member-{member}: thread-{i}"));
        *per_member.entry(member).or_default() += 1;
        placed.push((member, thread_id));
    }
    assert_eq!(per_member.values().sum::<usize>(), 32);
    assert_eq!(
        per_member.len(),
        4,
        "every member got threads: {per_member:?}"
    );
    // Each member's model saw only the turns placed there.
    for (k, home) in homes.iter().enumerate() {
        assert_eq!(home.model().turn_requests().len(), per_member[&k]);
    }
    // The merged listing pages across members: with 5 per page every member (8 threads each
    // on average) needs more than one page of its own, and the pool's cursor carries them all.
    let mut listed = Vec::new();
    let mut options = ThreadListOptions::default().limit(5);
    let mut pages = 0;
    loop {
        let page = pool.thread_list(options.clone()).await.unwrap();
        assert!(page.data.len() <= 5);
        listed.extend(page.data);
        pages += 1;
        match page.next_cursor {
            Some(cursor) => options = options.cursor(cursor),
            None => break,
        }
    }
    assert!(pages >= 7, "{pages} pages");
    let mut ids: Vec<&str> = listed.iter().map(|t| t.id.as_str()).collect();
    // Newest first across members and pages (the runtime's default order).
    assert!(
        listed
            .windows(2)
            .all(|w| w[0].created_at >= w[1].created_at),
        "not in one order"
    );
    ids.sort_unstable();
    let mut expected: Vec<&str> = placed.iter().map(|(_, id)| id.as_str()).collect();
    expected.sort_unstable();
    assert_eq!(ids, expected, "every thread exactly once");
    // A cursor that is not the pool's is refused, typed.
    let error = pool
        .thread_list(ThreadListOptions::default().cursor("not-a-pool-cursor"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, openai_codex::Error::InvalidInput { .. }),
        "{error}"
    );

    // Member 3 goes down while turns run on it: they fail typed, promptly.
    let on_three: Vec<String> = placed
        .iter()
        .filter(|(m, _)| *m == 3)
        .map(|(_, id)| id.clone())
        .collect();
    let thread_on_three = pool
        .thread_resume(&on_three[0], Default::default())
        .await
        .unwrap();
    homes[3].model().push(
        ResponseScript::new()
            .message(AssistantMessage::new("never finishes").chunks(2))
            .delay_between(Duration::from_secs(600)),
    );
    let before = homes[3].model().turn_requests().len();
    let running = thread_on_three
        .turn("long", TurnOptions::default())
        .await
        .unwrap();
    homes[3]
        .model()
        .wait_for_requests_async(before + 1, Duration::from_secs(20))
        .await
        .unwrap();
    ws3.kill();
    let error = tokio::time::timeout(Duration::from_secs(5), running.run())
        .await
        .expect("the running turn hung")
        .unwrap_err();
    assert!(error.is_transport_closed(), "{error}");
    pool.check_health().await;
    assert!(!pool.members()[3].healthy);
    for i in 0..4 {
        let thread = pool
            .thread_start(ThreadStartOptions::default())
            .await
            .unwrap();
        assert_ne!(pool.member_of(thread.id()), Some(3));
        let result = thread
            .run(format!("after-{i}"), TurnOptions::default())
            .await
            .unwrap();
        assert_eq!(result.status, TurnStatus::Completed);
    }

    // It comes back on the same port and rejoins: its old threads resume and run there.
    let _ws3 = listen(&homes[3], ws3_port);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !pool.members()[3].healthy {
        assert!(
            std::time::Instant::now() < deadline,
            "member 3 never rejoined"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let resumed = pool
        .thread_resume(&on_three[0], Default::default())
        .await
        .unwrap();
    let result = resumed
        .run("welcome back", TurnOptions::default())
        .await
        .unwrap();
    assert_eq!(
        result.final_response.as_deref(),
        Some("member-3: welcome back")
    );
    pool.close().await;
    drop(ws2);
}

#[test]
fn blocking_pool_places_and_runs() {
    let homes: Vec<RuntimeHome> = (0..2).map(|_| RuntimeHome::new().unwrap()).collect();
    for (k, home) in homes.iter().enumerate() {
        echo_as(home, format!("member-{k}"));
    }
    let pool = CodexPool::new(homes.iter().map(RuntimeHome::config).collect()).unwrap();
    let mut seen = Vec::new();
    for i in 0..4 {
        let thread = pool.thread_start(ThreadStartOptions::default()).unwrap();
        let member = pool.member_of(thread.id()).unwrap();
        let result = thread.run(format!("t{i}"), TurnOptions::default()).unwrap();
        assert_eq!(
            result.final_response,
            Some(format!("member-{member}: t{i}"))
        );
        seen.push(member);
    }
    seen.sort_unstable();
    assert_eq!(seen, [0, 0, 1, 1]);
    // One thread per page: two pages from each member behind one cursor.
    let mut options = ThreadListOptions::default().limit(1);
    let mut listed = 0;
    loop {
        let page = pool.thread_list(options.clone()).unwrap();
        listed += page.data.len();
        match page.next_cursor {
            Some(cursor) => options = options.cursor(cursor),
            None => break,
        }
    }
    assert_eq!(listed, 4);
    assert!(pool.members().iter().all(|m| m.healthy));
    pool.close();
}
