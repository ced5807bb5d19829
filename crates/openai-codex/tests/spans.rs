//! Tracing spans of one real turn (real runtime, scripted model), captured with a
//! tracing-subscriber layer: the tree (client → requests, client → turn → server request), the
//! fields, and that no prompt text appears unless asked for.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use openai_codex::approval::Handlers;
use openai_codex::types::{
    CommandExecutionApprovalDecision, CommandExecutionRequestApprovalResponse, TurnStatus,
};
use openai_codex::{
    ApprovalMode, AsyncCodex, Sandbox, ThreadResumeOptions, ThreadStartOptions, TurnOptions,
};
use openai_codex_testkit::{ExecCommand, ResponseScript, RuntimeHome, Usage};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::Subscriber;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

/// One captured span: its name, parent, fields (as text) and whether it closed.
#[derive(Clone, Debug, Default)]
struct Captured {
    name: String,
    parent: Option<u64>,
    fields: HashMap<String, String>,
    closed: bool,
}

#[derive(Clone, Default)]
struct Recorder {
    spans: Arc<Mutex<HashMap<u64, Captured>>>,
}

struct Fields<'a>(&'a mut HashMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_string(), format!("{value:?}"));
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Recorder {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let parent = ctx
            .span(id)
            .and_then(|span| span.parent().map(|p| p.id().into_u64()));
        let mut captured = Captured {
            name: attrs.metadata().name().to_string(),
            parent,
            ..Captured::default()
        };
        attrs.record(&mut Fields(&mut captured.fields));
        self.spans.lock().unwrap().insert(id.into_u64(), captured);
    }
    fn on_record(&self, id: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
        if let Some(span) = self.spans.lock().unwrap().get_mut(&id.into_u64()) {
            values.record(&mut Fields(&mut span.fields));
        }
    }
    fn on_close(&self, id: Id, _ctx: Context<'_, S>) {
        if let Some(span) = self.spans.lock().unwrap().get_mut(&id.into_u64()) {
            span.closed = true;
        }
    }
}

impl Recorder {
    fn named(&self, name: &str) -> Vec<(u64, Captured)> {
        let mut found: Vec<_> = self
            .spans
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, s)| s.name == name)
            .map(|(id, s)| (*id, s.clone()))
            .collect();
        found.sort_by_key(|(id, _)| *id);
        found
    }
}

const PROMPT: &str = "Create the secret-plan file";

#[tokio::test]
async fn one_turn_is_a_span_tree_with_ids_status_usage_and_the_approval() {
    let recorder = Recorder::default();
    let _default =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(recorder.clone()));

    let home = RuntimeHome::new().unwrap();
    let codex = AsyncCodex::new(home.config()).await.unwrap();
    let thread = codex
        .thread_start(
            ThreadStartOptions::default()
                .cwd(home.workspace().to_string_lossy().into_owned())
                .approval_mode(ApprovalMode::Manual)
                .sandbox(Sandbox::ReadOnly),
        )
        .await
        .unwrap();
    thread.set_handler(Handlers::new().on_command_approval(|_| async {
        Ok(CommandExecutionRequestApprovalResponse {
            decision: CommandExecutionApprovalDecision::Accept,
            extra: Default::default(),
        })
    }));
    let file = home.workspace().join("plan.txt");
    home.model().push(
        ResponseScript::new().exec_command(
            ExecCommand::new(format!("touch {}", file.display()))
                .login(false)
                .escalated("Need to write the plan"),
        ),
    );
    home.model()
        .push(ResponseScript::text("Done.").usage(Usage::new(120, 30)));
    let result = thread.run(PROMPT, TurnOptions::default()).await.unwrap();
    assert_eq!(result.status, TurnStatus::Completed);
    let refused = codex
        .thread_resume("no-such-thread", ThreadResumeOptions::default())
        .await;
    assert!(refused.is_err());
    codex.close().await;

    let clients = recorder.named("codex.client");
    assert_eq!(clients.len(), 1, "{clients:?}");
    let (client_id, client) = &clients[0];
    assert_eq!(client.parent, None);
    let pid: u32 = client.fields["runtime_pid"].parse().unwrap();
    assert!(pid > 0);

    // Every request is a child of the client, with its method, id and duration.
    let requests = recorder.named("codex.request");
    let methods: Vec<&str> = requests
        .iter()
        .map(|(_, r)| r.fields["method"].as_str())
        .collect();
    for method in ["initialize", "thread/start", "turn/start", "thread/resume"] {
        assert!(methods.contains(&method), "{method} in {methods:?}");
    }
    for (_, request) in &requests {
        assert_eq!(request.parent, Some(*client_id), "{request:?}");
        assert!(request.closed, "{request:?}");
        assert!(request.fields["id"].parse::<i64>().unwrap() > 0);
        assert!(request.fields["duration_ms"].parse::<f64>().unwrap() >= 0.0);
    }
    let (_, resume) = requests
        .iter()
        .find(|(_, r)| r.fields["method"] == "thread/resume")
        .unwrap();
    assert!(
        resume.fields["error"].starts_with("json_rpc:"),
        "{resume:?}"
    );
    let (_, start) = requests
        .iter()
        .find(|(_, r)| r.fields["method"] == "turn/start")
        .unwrap();
    assert!(!start.fields.contains_key("error"), "{start:?}");

    // The turn: under the client, its ids, its status and usage at completion, closed.
    let turns = recorder.named("codex.turn");
    assert_eq!(turns.len(), 1, "{turns:?}");
    let (turn_span_id, turn) = &turns[0];
    assert_eq!(turn.parent, Some(*client_id));
    assert_eq!(turn.fields["thread_id"], thread.id());
    assert_eq!(turn.fields["turn_id"], result.id);
    assert_eq!(turn.fields["status"], "completed");
    assert!(turn.closed);
    let usage = result
        .usage
        .as_ref()
        .expect("the scripted model reports usage");
    assert_eq!(
        turn.fields["total_tokens"],
        usage.total.total_tokens.to_string()
    );
    assert_eq!(
        turn.fields["output_tokens"],
        usage.total.output_tokens.to_string()
    );

    // The approval answered inside the turn: under the turn span, with kind and decision.
    let answered = recorder.named("codex.server_request");
    assert_eq!(answered.len(), 1, "{answered:?}");
    let (_, approval) = &answered[0];
    assert_eq!(approval.parent, Some(*turn_span_id));
    assert_eq!(
        approval.fields["kind"],
        "item/commandExecution/requestApproval"
    );
    assert_eq!(approval.fields["decision"], "accept");
    assert!(approval.fields["handler_ms"].parse::<f64>().unwrap() >= 0.0);
    assert!(approval.closed);

    // No prompt text anywhere unless asked for.
    for (_, span) in recorder.spans.lock().unwrap().iter() {
        assert!(!span.fields.contains_key("prompt"), "{span:?}");
        assert!(
            span.fields.values().all(|v| !v.contains("secret-plan")),
            "{span:?}"
        );
    }
}

#[tokio::test]
async fn prompt_text_is_in_the_turn_span_only_when_asked_for() {
    let recorder = Recorder::default();
    let _default =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(recorder.clone()));

    let home = RuntimeHome::new().unwrap();
    let codex = AsyncCodex::new(home.config().trace_prompts(true))
        .await
        .unwrap();
    let thread = codex
        .thread_start(
            ThreadStartOptions::default().cwd(home.workspace().to_string_lossy().into_owned()),
        )
        .await
        .unwrap();
    home.model().push(ResponseScript::text("Sure."));
    thread.run(PROMPT, TurnOptions::default()).await.unwrap();
    codex.close().await;

    let turns = recorder.named("codex.turn");
    assert_eq!(turns.len(), 1, "{turns:?}");
    assert_eq!(turns[0].1.fields["prompt"], PROMPT);
}
