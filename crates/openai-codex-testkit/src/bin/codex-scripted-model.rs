//! `codex-scripted-model`: the scripted model and a throwaway `CODEX_HOME` for programs that are
//! not Rust (the Python package's tests), over stdin/stdout.
//!
//! On start it prints one JSON line: `{"codex_bin": ..., "env": {...}, "workspace": ...}`; a
//! client started with that binary and environment talks to the real runtime, which talks to
//! this process's `MockModel`. Then it reads commands, one JSON object per line:
//!
//! * `{"cmd": "push", "script": SCRIPT}`: queue the answer to the next model call;
//! * `{"cmd": "default", "script": SCRIPT}`: the answer when the queue is empty;
//! * `{"cmd": "requests"}`: prints `{"requests": [{"user_texts": [...], "body": {...}}, ...]}`
//!   (the turn requests so far);
//! * `{"cmd": "clear"}`: forgets the queue and the recorded requests.
//!
//! Every command is answered with one line (`{"ok": true}` or the requested data, or
//! `{"error": ...}`). When stdin closes it removes the home and exits, so a test process that
//! dies takes it along.
//!
//! `SCRIPT` is `{"messages": [{"text", "phase", "chunks"}], "exec": "cmd", "pause_ms": n,
//! "delay_between_ms": n, "http_error": {"status", "body"}, "overloaded": true, "hang": true,
//! "failed": {"code", "message"}, "usage": [input, output]}`, every member optional.

use std::io::{BufRead, Write};
use std::time::Duration;

use openai_codex_testkit::{
    AssistantMessage, ExecCommand, Phase, ResponseScript, RuntimeHome, Usage,
};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct Script {
    messages: Vec<Message>,
    exec: Option<String>,
    pause_ms: Option<u64>,
    delay_between_ms: Option<u64>,
    http_error: Option<HttpError>,
    overloaded: bool,
    hang: bool,
    failed: Option<Failed>,
    usage: Option<(u64, u64)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Message {
    text: String,
    #[serde(default)]
    phase: Option<String>,
    #[serde(default)]
    chunks: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpError {
    status: u16,
    body: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Failed {
    code: String,
    message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Command {
    cmd: String,
    #[serde(default)]
    script: Option<Script>,
}

fn build(script: Script) -> Result<ResponseScript, String> {
    let mut out = if script.overloaded {
        ResponseScript::server_overloaded()
    } else if let Some(error) = script.http_error {
        ResponseScript::http_error(error.status, error.body)
    } else {
        ResponseScript::new()
    };
    if let Some(ms) = script.pause_ms {
        out = out.pause(Duration::from_millis(ms));
    }
    if let Some(ms) = script.delay_between_ms {
        out = out.delay_between(Duration::from_millis(ms));
    }
    for message in script.messages {
        let mut m = AssistantMessage::new(message.text);
        if let Some(phase) = message.phase {
            m = m.phase(match phase.as_str() {
                "final_answer" => Phase::FinalAnswer,
                "commentary" => Phase::Commentary,
                other => return Err(format!("unknown phase {other:?}")),
            });
        }
        if let Some(n) = message.chunks {
            m = m.chunks(n);
        }
        out = out.message(m);
    }
    if let Some(cmd) = script.exec {
        out = out.exec_command(ExecCommand::new(cmd));
    }
    if let Some((input, output)) = script.usage {
        out = out.usage(Usage::new(input, output));
    }
    if let Some(failed) = script.failed {
        out = out.failed(failed.code, failed.message);
    }
    if script.hang {
        out = out.hang();
    }
    Ok(out)
}

fn main() {
    let home = match RuntimeHome::new() {
        Ok(home) => home,
        Err(e) => {
            eprintln!("codex-scripted-model: cannot create the runtime home: {e}");
            std::process::exit(1);
        }
    };
    let codex_bin = home
        .resolve_runtime()
        .map(|r| r.path.display().to_string())
        .ok();
    let env: serde_json::Map<String, Value> = home
        .env_vars()
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    let mut stdout = std::io::stdout().lock();
    let hello = json!({"codex_bin": codex_bin, "env": env, "workspace": home.workspace()});
    if writeln!(stdout, "{hello}")
        .and_then(|()| stdout.flush())
        .is_err()
    {
        return;
    }
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let answer = match serde_json::from_str::<Command>(&line) {
            Err(e) => json!({"error": format!("bad command: {e}")}),
            Ok(command) => match (command.cmd.as_str(), command.script) {
                ("push", Some(script)) => match build(script) {
                    Ok(s) => {
                        home.model().push(s);
                        json!({"ok": true})
                    }
                    Err(e) => json!({"error": e}),
                },
                ("default", Some(script)) => match build(script) {
                    Ok(s) => {
                        home.model().set_default_response(s);
                        json!({"ok": true})
                    }
                    Err(e) => json!({"error": e}),
                },
                ("requests", _) => {
                    let requests: Vec<Value> = home
                        .model()
                        .turn_requests()
                        .iter()
                        .map(|r| json!({"user_texts": r.user_texts(), "body": r.body}))
                        .collect();
                    json!({ "requests": requests })
                }
                ("clear", _) => {
                    home.model().clear_queue();
                    home.model().clear_requests();
                    json!({"ok": true})
                }
                (other, _) => json!({"error": format!("unknown command {other:?} (or no script)")}),
            },
        };
        if writeln!(stdout, "{answer}")
            .and_then(|()| stdout.flush())
            .is_err()
        {
            break;
        }
    }
}
