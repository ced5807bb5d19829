//! The fake app-server's synchronous main loop.
//!
//! A reader thread parses stdin lines and feeds a channel; the main thread owns a large
//! `BufWriter<StdoutLock>`, answers requests, and streams the deltas of active turns in bursts,
//! flushing only before it blocks on input or at the end of a burst.

use std::collections::{HashMap, VecDeque};
use std::io::{self, BufRead, BufWriter, Write};
use std::rc::Rc;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, TryRecvError};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::scenario::{LoginOutcome, Scenario, Scenarios};
use super::shapes::{self, now_ms, now_ns, ThreadRec};

/// Deltas written between two looks at stdin (and two flushes).
const BURST: usize = 1024;
/// Size of the stdout buffer.
const OUT_BUFFER: usize = 1 << 18;

enum Incoming {
    Message(Value),
    Invalid(String),
}

enum Stage {
    /// Waiting for the client's reply to this server request.
    Request(i64),
    Streaming,
    /// Deltas done, nothing more until `turn/interrupt` (`go_silent`).
    Silent,
}

enum Finish {
    Normal,
    Interrupted,
}

enum Pump {
    /// More deltas can be written right away.
    Busy,
    /// Nothing to write before this instant (`None`: nothing until input arrives).
    Wait(Option<Instant>),
}

struct Turn {
    sc: Rc<Scenario>,
    thread_id: String,
    turn_id: String,
    item_id: String,
    stage: Stage,
    sent: u64,
    /// The agent message text so far, kept only for stamped deltas (else it is `delta_text` × sent).
    text: String,
    started_s: i64,
    started: Instant,
    pending_response: Option<Value>,
    gated: bool,
    next_due: Option<Instant>,
    /// `{"method":"item/agentMessage/delta","params":{...,"delta":"` for this turn.
    prefix: Vec<u8>,
    /// The JSON-escaped `delta_text` without quotes.
    delta_escaped: Vec<u8>,
    requests: VecDeque<String>,
    had_requests: bool,
    replies: Vec<Value>,
}

struct Server {
    out: BufWriter<Box<dyn Write>>,
    base: Rc<Scenario>,
    per_turn: Vec<Rc<Scenario>>,
    initialized: bool,
    threads: HashMap<String, ThreadRec>,
    thread_order: Vec<String>,
    turns: Vec<Turn>,
    counter: u64,
    turn_starts: usize,
    next_server_request: i64,
    pending_server_requests: HashMap<i64, (String, String)>,
    error_counts: HashMap<String, u64>,
    gate_waiting: usize,
    pending_logins: Vec<String>,
    api_key_login: bool,
    eof: bool,
    cwd: String,
}

/// Runs the server on stdin/stdout until stdin is closed and every turn that can finish has
/// finished. Returns the exit code.
pub(crate) fn run(scenarios: Scenarios) -> i32 {
    run_on(
        scenarios,
        || io::stdin().lock(),
        Box::new(io::stdout().lock()),
    )
}

/// Runs the server over any line-oriented pair (stdio, or a WebSocket connection presented as
/// lines) until the input ends. Returns the exit code.
pub(crate) fn run_on<R: BufRead>(
    scenarios: Scenarios,
    input: impl FnOnce() -> R + Send + 'static,
    output: Box<dyn Write>,
) -> i32 {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut lock = input();
        let mut line = String::new();
        loop {
            line.clear();
            match lock.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let text = line.trim();
            if text.is_empty() {
                continue;
            }
            let msg = match serde_json::from_str::<Value>(text) {
                Ok(v) => Incoming::Message(v),
                Err(e) => Incoming::Invalid(format!("{e}: {text}")),
            };
            if tx.send(msg).is_err() {
                break;
            }
        }
    });
    let cwd = std::env::current_dir()
        .map_or_else(|_| "/fake/cwd".to_owned(), |p| p.display().to_string());
    let mut server = Server {
        out: BufWriter::with_capacity(OUT_BUFFER, output),
        base: Rc::new(scenarios.base),
        per_turn: scenarios.per_turn.into_iter().map(Rc::new).collect(),
        initialized: false,
        threads: HashMap::new(),
        thread_order: Vec::new(),
        turns: Vec::new(),
        counter: 0,
        turn_starts: 0,
        next_server_request: 0,
        pending_server_requests: HashMap::new(),
        error_counts: HashMap::new(),
        gate_waiting: 0,
        pending_logins: Vec::new(),
        api_key_login: false,
        eof: false,
        cwd,
    };
    match server.main_loop(&rx) {
        Ok(()) => 0,
        // stdout closed: the client went away.
        Err(_) => 0,
    }
}

/// Formats `n` in decimal into the tail of a buffer; returns the buffer and the start index.
fn format_int(mut n: i64) -> ([u8; 21], usize) {
    let mut buf = [0u8; 21];
    let mut i = buf.len();
    let negative = n < 0;
    if n == 0 {
        i -= 1;
        buf[i] = b'0';
    }
    while n != 0 {
        i -= 1;
        buf[i] = b'0' + u8::try_from((n % 10).unsigned_abs()).unwrap_or(0);
        n /= 10;
    }
    if negative {
        i -= 1;
        buf[i] = b'-';
    }
    (buf, i)
}

fn push_int(out: &mut impl Write, n: i64) -> io::Result<()> {
    let (buf, start) = format_int(n);
    out.write_all(&buf[start..])
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned())
}

fn str_param(params: &Value, key: &str) -> Result<String, String> {
    match params.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(format!(
            "Invalid request: invalid type: {other}, expected a string"
        )),
        None => Err(format!("Invalid request: missing field `{key}`")),
    }
}

impl Server {
    fn main_loop(&mut self, rx: &Receiver<Incoming>) -> io::Result<()> {
        loop {
            loop {
                match rx.try_recv() {
                    Ok(m) => self.handle(m)?,
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        self.on_eof();
                        break;
                    }
                }
            }
            match self.pump()? {
                Pump::Busy => self.out.flush()?,
                Pump::Wait(deadline) => {
                    self.out.flush()?;
                    if self.eof {
                        match deadline {
                            None => return Ok(()),
                            Some(d) => {
                                std::thread::sleep(d.saturating_duration_since(Instant::now()))
                            }
                        }
                        continue;
                    }
                    let received = match deadline {
                        Some(d) => {
                            match rx.recv_timeout(d.saturating_duration_since(Instant::now())) {
                                Ok(m) => Some(m),
                                Err(RecvTimeoutError::Timeout) => None,
                                Err(RecvTimeoutError::Disconnected) => {
                                    self.on_eof();
                                    None
                                }
                            }
                        }
                        None => match rx.recv() {
                            Ok(m) => Some(m),
                            Err(_) => {
                                self.on_eof();
                                None
                            }
                        },
                    };
                    if let Some(m) = received {
                        self.handle(m)?;
                    }
                }
            }
        }
    }

    /// stdin closed: turns that wait for the client are dropped, gated turns are released, the
    /// others run to their end, then the process exits.
    fn on_eof(&mut self) {
        if self.eof {
            return;
        }
        self.eof = true;
        self.turns.retain(|t| matches!(t.stage, Stage::Streaming));
        for t in &mut self.turns {
            t.gated = false;
        }
        self.gate_waiting = 0;
    }

    fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    // ---------------------------------------------------------------- writing

    fn notify(&mut self, method: &str, params: &Value) -> io::Result<()> {
        self.out.write_all(b"{\"method\":")?;
        serde_json::to_writer(&mut self.out, method)?;
        self.out.write_all(b",\"params\":")?;
        serde_json::to_writer(&mut self.out, params)?;
        self.out.write_all(b",\"emittedAtMs\":")?;
        push_int(&mut self.out, now_ms())?;
        self.out.write_all(b"}\n")
    }

    fn respond(&mut self, id: &Value, result: &Value) -> io::Result<()> {
        self.out.write_all(b"{\"id\":")?;
        serde_json::to_writer(&mut self.out, id)?;
        self.out.write_all(b",\"result\":")?;
        serde_json::to_writer(&mut self.out, result)?;
        self.out.write_all(b"}\n")
    }

    fn respond_error(
        &mut self,
        id: &Value,
        code: i64,
        message: &str,
        data: Option<&Value>,
    ) -> io::Result<()> {
        let mut error = json!({"code": code, "message": message});
        if let Some(d) = data {
            error["data"] = d.clone();
        }
        serde_json::to_writer(&mut self.out, &json!({"id": id, "error": error}))?;
        self.out.write_all(b"\n")
    }

    fn invalid(&mut self, id: &Value, message: &str) -> io::Result<()> {
        self.respond_error(id, -32600, message, None)
    }

    fn server_request(&mut self, method: &str, params: &Value) -> io::Result<i64> {
        let id = self.next_server_request;
        self.next_server_request += 1;
        serde_json::to_writer(
            &mut self.out,
            &json!({"id": id, "method": method, "params": params}),
        )?;
        self.out.write_all(b"\n")?;
        Ok(id)
    }

    fn exit_now(&mut self, code: i32, stderr: &str) -> ! {
        let _ = self.out.flush();
        let mut err = io::stderr().lock();
        let _ = err.write_all(stderr.as_bytes());
        if !stderr.is_empty() && !stderr.ends_with('\n') {
            let _ = err.write_all(b"\n");
        }
        let _ = err.flush();
        std::process::exit(code)
    }

    // ---------------------------------------------------------------- input

    fn handle(&mut self, incoming: Incoming) -> io::Result<()> {
        let mut value = match incoming {
            Incoming::Message(v) => v,
            Incoming::Invalid(line) => {
                eprintln!("codex-fake-app-server: ignoring a line that is not JSON: {line}");
                return Ok(());
            }
        };
        let Some(obj) = value.as_object_mut() else {
            eprintln!("codex-fake-app-server: ignoring a message that is not an object: {value}");
            return Ok(());
        };
        let method = obj.get("method").and_then(Value::as_str).map(str::to_owned);
        let id = obj.get("id").cloned();
        match (method, id) {
            (Some(method), Some(id)) => {
                let params = obj.remove("params").unwrap_or(Value::Null);
                self.handle_request(&id, &method, params)
            }
            (Some(method), None) => {
                // Client notifications (`initialized`, ...) need no answer.
                let _ = method;
                Ok(())
            }
            (None, Some(id)) => self.handle_reply(&id, value),
            (None, None) => Ok(()),
        }
    }

    fn handle_request(&mut self, id: &Value, method: &str, params: Value) -> io::Result<()> {
        let sc = if method == "turn/start" {
            let n = self.turn_starts;
            self.turn_starts += 1;
            self.per_turn
                .get(n)
                .cloned()
                .unwrap_or_else(|| self.base.clone())
        } else {
            self.base.clone()
        };
        if sc.echo_requests {
            self.notify(
                "fake/request",
                &json!({"id": id, "method": method, "params": params}),
            )?;
        }
        if sc.junk_line.applies_to(method) {
            self.out.write_all(sc.junk_text.as_bytes())?;
            self.out.write_all(b"\n")?;
        }
        if sc.never_answer.iter().any(|m| m == method) {
            return Ok(());
        }
        if let Some(spec) = sc.error_for.get(method) {
            let count = self.error_counts.entry(method.to_owned()).or_insert(0);
            *count += 1;
            if spec.times.is_none_or(|t| *count <= t) {
                return self.respond_error(id, spec.code, &spec.message, spec.data.as_ref());
            }
        }
        if method == "initialize" {
            return self.initialize(id, &params, &sc);
        }
        if !self.initialized {
            return self.invalid(id, "Not initialized");
        }
        match method {
            "thread/start" | "thread/resume" | "thread/fork" => {
                self.thread_open(id, method, &params, &sc)
            }
            "thread/read" => self.thread_read(id, &params),
            "thread/list" => {
                let archived = params
                    .get("archived")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                let data: Vec<Value> = self
                    .thread_order
                    .iter()
                    .rev()
                    .filter_map(|tid| self.threads.get(tid))
                    .filter(|t| t.archived == archived && !t.ephemeral)
                    .map(|t| t.to_json("idle"))
                    .collect();
                self.respond(
                    id,
                    &json!({"data": data, "nextCursor": null, "backwardsCursor": null}),
                )
            }
            "thread/archive" | "thread/unarchive" | "thread/name/set" | "thread/compact/start" => {
                self.thread_change(id, method, &params)
            }
            "model/list" => self.respond(id, &shapes::model_list(&sc.model)),
            "account/read" => {
                let account = if self.api_key_login {
                    json!({"type": "apiKey"})
                } else {
                    Value::Null
                };
                self.respond(
                    id,
                    &json!({"account": account, "requiresOpenaiAuth": false}),
                )
            }
            "account/login/start" => self.login_start(id, &params, &sc),
            "account/login/cancel" => {
                let login_id = params
                    .get("loginId")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                if let Some(pos) = self.pending_logins.iter().position(|l| *l == login_id) {
                    self.pending_logins.remove(pos);
                    self.respond(id, &json!({"status": "canceled"}))?;
                    self.notify(
                        "account/login/completed",
                        &json!({"loginId": login_id, "success": false,
                                "error": "Login server error: Login was not completed"}),
                    )
                } else {
                    self.respond(id, &json!({"status": "notFound"}))
                }
            }
            "account/logout" => {
                self.api_key_login = false;
                self.respond(id, &json!({}))?;
                self.notify(
                    "account/updated",
                    &json!({"authMode": null, "planType": null}),
                )
            }
            "turn/start" => self.turn_start(id, params, sc),
            "turn/steer" => self.turn_steer(id, &params),
            "turn/interrupt" => self.turn_interrupt(id, &params),
            other => self.invalid(id, &format!("Invalid request: unknown variant `{other}`")),
        }
    }

    fn initialize(&mut self, id: &Value, params: &Value, sc: &Scenario) -> io::Result<()> {
        if self.initialized {
            return self.invalid(id, "Already initialized");
        }
        let Some(info) = params.get("clientInfo") else {
            return self.invalid(id, "Invalid request: missing field `clientInfo`");
        };
        let name = info
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("unknown");
        let version = info
            .get("version")
            .and_then(Value::as_str)
            .unwrap_or("0.0.0");
        self.initialized = true;
        let ua = format!(
            "codex_fake/{} (Linux; x86_64) fake ({name}; {version})",
            sc.version
        );
        self.respond(
            id,
            &json!({"userAgent": ua, "codexHome": "/fake/home", "platformFamily": "unix", "platformOs": "linux"}),
        )
    }

    // ---------------------------------------------------------------- threads

    fn thread_open(
        &mut self,
        id: &Value,
        method: &str,
        params: &Value,
        sc: &Scenario,
    ) -> io::Result<()> {
        let given = if method == "thread/start" {
            None
        } else {
            match str_param(params, "threadId") {
                Ok(t) => Some(t),
                Err(e) => return self.invalid(id, &e),
            }
        };
        let now_s = now_ms() / 1000;
        let cwd = params
            .get("cwd")
            .and_then(Value::as_str)
            .map_or_else(|| self.cwd.clone(), str::to_owned);
        let model = params
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or(&sc.model)
            .to_owned();
        let rec = match (method, given) {
            ("thread/resume", Some(tid)) => match self.threads.get(&tid) {
                Some(known) => known.clone(),
                None => ThreadRec {
                    id: tid,
                    name: None,
                    cwd,
                    model,
                    created_at: now_s,
                    preview: String::new(),
                    forked_from: None,
                    archived: false,
                    ephemeral: false,
                },
            },
            (_, source) => {
                let n = self.next();
                let source_rec = source.as_ref().and_then(|s| self.threads.get(s));
                ThreadRec {
                    id: format!("019a0000-0000-7000-8000-{n:012x}"),
                    name: source_rec.and_then(|r| r.name.clone()),
                    cwd,
                    model,
                    created_at: now_s,
                    preview: source_rec.map(|r| r.preview.clone()).unwrap_or_default(),
                    forked_from: source,
                    archived: false,
                    ephemeral: params
                        .get("ephemeral")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                }
            }
        };
        if !self.threads.contains_key(&rec.id) {
            self.thread_order.push(rec.id.clone());
        }
        self.threads.insert(rec.id.clone(), rec.clone());
        self.respond(id, &shapes::thread_session_response(&rec, params))?;
        if method != "thread/resume" {
            self.notify("thread/started", &json!({"thread": rec.to_json("idle")}))?;
        }
        Ok(())
    }

    fn thread_read(&mut self, id: &Value, params: &Value) -> io::Result<()> {
        let tid = match str_param(params, "threadId") {
            Ok(t) => t,
            Err(e) => return self.invalid(id, &e),
        };
        let active = self.turns.iter().any(|t| t.thread_id == tid);
        match self.threads.get(&tid) {
            Some(rec) => {
                let mut thread = rec.to_json("idle");
                if active {
                    thread["status"] = json!({"type": "active", "activeFlags": []});
                }
                self.respond(id, &json!({"thread": thread}))
            }
            None => self.invalid(id, &format!("thread not loaded: {tid}")),
        }
    }

    fn thread_change(&mut self, id: &Value, method: &str, params: &Value) -> io::Result<()> {
        let tid = match str_param(params, "threadId") {
            Ok(t) => t,
            Err(e) => return self.invalid(id, &e),
        };
        let Some(rec) = self.threads.get_mut(&tid) else {
            let msg = if method == "thread/compact/start" {
                format!("thread not found: {tid}")
            } else {
                format!("no rollout found for thread id {tid}")
            };
            return self.invalid(id, &msg);
        };
        match method {
            "thread/archive" => {
                rec.archived = true;
                self.respond(id, &json!({}))?;
                self.notify("thread/archived", &json!({"threadId": tid}))
            }
            "thread/unarchive" => {
                rec.archived = false;
                let thread = rec.to_json("notLoaded");
                self.respond(id, &json!({"thread": thread}))?;
                self.notify("thread/unarchived", &json!({"threadId": tid}))
            }
            "thread/name/set" => {
                let name = params
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                if name.trim().is_empty() {
                    return self.invalid(id, "thread name must not be empty");
                }
                rec.name = Some(name.clone());
                self.respond(id, &json!({}))?;
                self.notify(
                    "thread/name/updated",
                    &json!({"threadId": tid, "threadName": name}),
                )
            }
            _ => {
                // thread/compact/start: `{}` and then a separate compaction turn.
                self.respond(id, &json!({}))?;
                let n = self.next();
                let turn_id = format!("019a0000-0001-7000-8000-{n:012x}");
                let item = json!({"type": "contextCompaction", "id": format!("cmp_{n}")});
                let started = now_ms();
                self.notify(
                    "turn/started",
                    &json!({"threadId": tid, "turn": shapes::turn_json(&turn_id, "inProgress", vec![], "notLoaded",
                                                                      Value::Null, None, Some(started / 1000))}),
                )?;
                self.notify(
                    "item/started",
                    &json!({"threadId": tid, "turnId": turn_id, "item": item, "startedAtMs": started}),
                )?;
                let done = now_ms();
                self.notify(
                    "item/completed",
                    &json!({"threadId": tid, "turnId": turn_id, "item": item, "completedAtMs": done}),
                )?;
                let times = Some((started / 1000, done / 1000, done - started));
                self.notify(
                    "turn/completed",
                    &json!({"threadId": tid, "turn": shapes::turn_json(&turn_id, "completed", vec![], "notLoaded",
                                                                      Value::Null, times, None)}),
                )
            }
        }
    }

    // ---------------------------------------------------------------- accounts

    fn login_start(&mut self, id: &Value, params: &Value, sc: &Scenario) -> io::Result<()> {
        let kind = params
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let login_id = {
            let n = self.next();
            format!("019a0000-0002-7000-8000-{n:012x}")
        };
        let response = match kind.as_str() {
            "apiKey" => {
                self.api_key_login = true;
                self.respond(id, &json!({"type": "apiKey"}))?;
                self.notify("account/login/completed", &json!({"loginId": null, "success": true, "error": null}))?;
                return self.notify("account/updated", &json!({"authMode": "apikey", "planType": null}));
            }
            "chatgpt" => json!({"type": "chatgpt", "loginId": login_id,
                                "authUrl": format!("https://auth.openai.com/oauth/authorize?fake=1&state={login_id}")}),
            "chatgptDeviceCode" => json!({"type": "chatgptDeviceCode", "loginId": login_id,
                                          "verificationUrl": "https://auth.openai.com/codex/device",
                                          "userCode": "FAKE-1234"}),
            "chatgptAuthTokens" => return self.respond(id, &json!({"type": "chatgptAuthTokens"})),
            other => {
                return self.invalid(
                    id,
                    &format!("Invalid request: unknown variant `{other}`, expected one of `apiKey`, `chatgpt`, `chatgptDeviceCode`, `chatgptAuthTokens`"),
                )
            }
        };
        let success = json!({"loginId": login_id, "success": true, "error": null});
        match sc.login_outcome {
            LoginOutcome::SuccessBeforeResponse => {
                self.notify("account/login/completed", &success)?;
                self.respond(id, &response)?;
                self.notify(
                    "account/updated",
                    &json!({"authMode": "chatgpt", "planType": "plus"}),
                )
            }
            LoginOutcome::Success => {
                self.respond(id, &response)?;
                self.notify("account/login/completed", &success)?;
                self.notify(
                    "account/updated",
                    &json!({"authMode": "chatgpt", "planType": "plus"}),
                )
            }
            LoginOutcome::Failure => {
                self.respond(id, &response)?;
                self.notify(
                    "account/login/completed",
                    &json!({"loginId": login_id, "success": false, "error": "fake login failure"}),
                )
            }
            LoginOutcome::Pending => {
                self.pending_logins.push(login_id);
                self.respond(id, &response)
            }
        }
    }

    // ---------------------------------------------------------------- turns

    fn active_turn(&self, thread_id: &str) -> Option<usize> {
        self.turns.iter().position(|t| t.thread_id == thread_id)
    }

    fn emit_user_message(
        &mut self,
        thread_id: &str,
        turn_id: &str,
        input: Option<&Value>,
    ) -> io::Result<()> {
        let n = self.next();
        let item = shapes::user_message_item(&format!("item_{n}"), input);
        self.notify(
            "item/started",
            &json!({"item": item, "threadId": thread_id, "turnId": turn_id, "startedAtMs": now_ms()}),
        )?;
        self.notify(
            "item/completed",
            &json!({"item": item, "threadId": thread_id, "turnId": turn_id, "completedAtMs": now_ms()}),
        )
    }

    fn turn_start(&mut self, id: &Value, params: Value, sc: Rc<Scenario>) -> io::Result<()> {
        let thread_id = match str_param(&params, "threadId") {
            Ok(t) => t,
            Err(e) => return self.invalid(id, &e),
        };
        let Some(rec) = self.threads.get_mut(&thread_id) else {
            return self.invalid(id, &format!("thread not found: {thread_id}"));
        };
        if rec.preview.is_empty() {
            if let Some(text) = params.pointer("/input/0/text").and_then(Value::as_str) {
                rec.preview = text.to_owned();
            }
        }
        if let Some(i) = self.active_turn(&thread_id) {
            // Joining: the input goes into the active turn, whose id is returned.
            let turn_id = self.turns[i].turn_id.clone();
            self.respond(id, &shapes::turn_start_response(&turn_id))?;
            return self.emit_user_message(&thread_id, &turn_id, params.get("input"));
        }
        let n = self.next();
        let turn_id = format!("019a0000-0001-7000-8000-{n:012x}");
        let item_id = format!("msg_{n}");
        let started_ms = now_ms();
        let prefix = format!(
            "{{\"method\":\"item/agentMessage/delta\",\"params\":{{\"threadId\":{},\"turnId\":{},\"itemId\":{},\"delta\":\"",
            json_str(&thread_id),
            json_str(&turn_id),
            json_str(&item_id)
        );
        let escaped = json_str(&sc.delta_text);
        let mut requests: VecDeque<String> =
            sc.server_requests.methods().unwrap_or_default().into();
        if sc.unknown_server_request {
            requests.push_back("fake/unknownRequest".to_owned());
        }
        let turn = Turn {
            sc: sc.clone(),
            thread_id: thread_id.clone(),
            turn_id: turn_id.clone(),
            item_id,
            stage: Stage::Streaming,
            sent: 0,
            text: String::new(),
            started_s: started_ms / 1000,
            started: Instant::now(),
            pending_response: sc.completed_before_response.then(|| id.clone()),
            gated: false,
            next_due: None,
            prefix: prefix.into_bytes(),
            delta_escaped: escaped.as_bytes()[1..escaped.len() - 1].to_vec(),
            had_requests: !requests.is_empty(),
            requests,
            replies: Vec::new(),
        };
        if !sc.completed_before_response {
            self.respond(id, &shapes::turn_start_response(&turn_id))?;
        }
        self.notify(
            "thread/status/changed",
            &json!({"threadId": thread_id, "status": {"type": "active", "activeFlags": []}}),
        )?;
        self.notify(
            "turn/started",
            &json!({"threadId": thread_id, "turn": shapes::turn_json(&turn_id, "inProgress", vec![], "notLoaded",
                                                                     Value::Null, None, Some(turn.started_s))}),
        )?;
        if sc.unknown_notifications {
            self.notify(
                "fake/unknownTurnEvent",
                &json!({"threadId": thread_id, "turnId": turn_id, "note": "an unknown notification with a turnId"}),
            )?;
            self.notify(
                "fake/unknownGlobalEvent",
                &json!({"note": "an unknown notification without a turnId"}),
            )?;
        }
        self.emit_user_message(&thread_id, &turn_id, params.get("input"))?;
        self.turns.push(turn);
        self.advance(self.turns.len() - 1)
    }

    /// Sends the turn's next server request, or starts streaming when none is left.
    fn advance(&mut self, i: usize) -> io::Result<()> {
        if let Some(method) = self.turns[i].requests.pop_front() {
            let t = &self.turns[i];
            let params = shapes::server_request_params(
                &method,
                &t.thread_id,
                &t.turn_id,
                self.next_server_request,
                &self.cwd,
            );
            let turn_id = t.turn_id.clone();
            let sid = self.server_request(&method, &params)?;
            self.pending_server_requests.insert(sid, (turn_id, method));
            self.turns[i].stage = Stage::Request(sid);
            return Ok(());
        }
        let t = &self.turns[i];
        let (thread_id, turn_id, item_id) =
            (t.thread_id.clone(), t.turn_id.clone(), t.item_id.clone());
        if t.had_requests {
            let replies = Value::Array(t.replies.clone());
            self.notify(
                "fake/serverRequestReplies",
                &json!({"threadId": thread_id, "turnId": turn_id, "replies": replies}),
            )?;
        }
        self.notify(
            "item/started",
            &json!({"item": shapes::agent_message_item(&item_id, ""), "threadId": thread_id, "turnId": turn_id,
                    "startedAtMs": now_ms()}),
        )?;
        let t = &mut self.turns[i];
        t.stage = Stage::Streaming;
        if t.sc.slow_deltas_ms > 0 {
            t.next_due = Some(Instant::now() + Duration::from_millis(t.sc.slow_deltas_ms));
        }
        if let Some(c) = t.sc.interleave_after_turns {
            if c > 1 && !self.eof {
                t.gated = true;
                self.gate_waiting += 1;
                if self.gate_waiting >= c {
                    for t in &mut self.turns {
                        t.gated = false;
                    }
                    self.gate_waiting = 0;
                }
            }
        }
        Ok(())
    }

    fn handle_reply(&mut self, id: &Value, reply: Value) -> io::Result<()> {
        let Some(sid) = id.as_i64() else {
            return Ok(());
        };
        let Some((turn_id, method)) = self.pending_server_requests.remove(&sid) else {
            return Ok(());
        };
        let Some(i) = self
            .turns
            .iter()
            .position(|t| t.turn_id == turn_id && matches!(t.stage, Stage::Request(s) if s == sid))
        else {
            return Ok(());
        };
        self.turns[i]
            .replies
            .push(json!({"method": method, "reply": reply}));
        let thread_id = self.turns[i].thread_id.clone();
        self.notify(
            "serverRequest/resolved",
            &json!({"threadId": thread_id, "requestId": sid}),
        )?;
        self.advance(i)
    }

    fn turn_steer(&mut self, id: &Value, params: &Value) -> io::Result<()> {
        let (thread_id, expected) = match (
            str_param(params, "threadId"),
            str_param(params, "expectedTurnId"),
        ) {
            (Ok(t), Ok(e)) => (t, e),
            (Err(e), _) | (_, Err(e)) => return self.invalid(id, &e),
        };
        if !self.threads.contains_key(&thread_id) {
            return self.invalid(id, &format!("thread not found: {thread_id}"));
        }
        let Some(i) = self.active_turn(&thread_id) else {
            return self.invalid(id, "no active turn to steer");
        };
        let turn_id = self.turns[i].turn_id.clone();
        if turn_id != expected {
            return self.invalid(
                id,
                &format!("expected active turn id `{expected}` but found `{turn_id}`"),
            );
        }
        self.respond(id, &json!({"turnId": turn_id}))?;
        self.emit_user_message(&thread_id, &turn_id, params.get("input"))
    }

    fn turn_interrupt(&mut self, id: &Value, params: &Value) -> io::Result<()> {
        let (thread_id, turn_id) =
            match (str_param(params, "threadId"), str_param(params, "turnId")) {
                (Ok(t), Ok(u)) => (t, u),
                (Err(e), _) | (_, Err(e)) => return self.invalid(id, &e),
            };
        if !self.threads.contains_key(&thread_id) {
            return self.invalid(id, &format!("thread not found: {thread_id}"));
        }
        let Some(i) = self.active_turn(&thread_id) else {
            return self.invalid(id, "no active turn to interrupt");
        };
        let active = self.turns[i].turn_id.clone();
        if active != turn_id {
            return self.invalid(
                id,
                &format!("expected active turn id {turn_id} but found {active}"),
            );
        }
        self.respond(id, &json!({}))?;
        self.finish_turn(i, &Finish::Interrupted)
    }

    /// Writes up to `BURST` deltas (round-robin over the turns in concurrent mode, else the
    /// oldest runnable turn first) and finishes the turns that are done.
    fn pump(&mut self) -> io::Result<Pump> {
        let mut emitted = 0usize;
        let now = Instant::now();
        let round_robin = self
            .turns
            .iter()
            .any(|t| t.sc.concurrent || t.sc.interleave_after_turns.is_some());
        let ms = now_ms();
        loop {
            let mut progressed = false;
            let mut earliest: Option<Instant> = None;
            let mut i = 0;
            while i < self.turns.len() && emitted < BURST {
                let t = &self.turns[i];
                if !matches!(t.stage, Stage::Streaming) || t.gated {
                    i += 1;
                    continue;
                }
                if let Some(due) = t.next_due {
                    if due > now {
                        earliest = Some(earliest.map_or(due, |e: Instant| e.min(due)));
                        i += 1;
                        continue;
                    }
                }
                let slow = t.sc.slow_deltas_ms > 0;
                let want = if slow || round_robin {
                    1
                } else {
                    BURST - emitted
                };
                let (n, done) = self.stream_deltas(i, want as u64, ms)?;
                emitted += n as usize;
                progressed = true;
                if done && self.turns[i].sc.go_silent {
                    self.turns[i].stage = Stage::Silent;
                    i += 1;
                } else if done {
                    self.finish_turn(i, &Finish::Normal)?;
                } else {
                    i += 1;
                }
                if !round_robin {
                    break;
                }
            }
            if emitted >= BURST {
                return Ok(Pump::Busy);
            }
            if !progressed {
                return Ok(Pump::Wait(earliest));
            }
        }
    }

    /// Writes up to `want` deltas of turn `i`; returns how many and whether the turn is done.
    fn stream_deltas(&mut self, i: usize, want: u64, ms: i64) -> io::Result<(u64, bool)> {
        let t = &mut self.turns[i];
        let total = t.sc.deltas;
        let n = want.min(total - t.sent.min(total));
        let exit_after = t.sc.exit_mid_turn.as_ref().map(|e| e.after_deltas);
        let stamp = t.sc.stamp_deltas;
        for _ in 0..n {
            if exit_after.is_some_and(|a| t.sent >= a) {
                break;
            }
            let out = &mut self.out;
            out.write_all(&t.prefix)?;
            if stamp {
                let ns = now_ns();
                let (digits, start) = format_int(ns);
                let digits = &digits[start..];
                t.text
                    .push_str(std::str::from_utf8(digits).unwrap_or_default());
                out.write_all(digits)?;
                out.write_all(b"\",\"sentAtNs\":")?;
                out.write_all(digits)?;
                out.write_all(b"},\"emittedAtMs\":")?;
                push_int(out, ns / 1_000_000)?;
            } else {
                out.write_all(&t.delta_escaped)?;
                out.write_all(b"\"},\"emittedAtMs\":")?;
                push_int(out, ms)?;
            }
            out.write_all(b"}\n")?;
            t.sent += 1;
        }
        if let Some(spec) = &t.sc.exit_mid_turn {
            if t.sent >= spec.after_deltas || t.sent >= total {
                let (code, stderr) = (spec.code, spec.stderr.clone());
                self.exit_now(code, &stderr);
            }
        }
        let t = &mut self.turns[i];
        if t.sc.slow_deltas_ms > 0 {
            t.next_due = Some(Instant::now() + Duration::from_millis(t.sc.slow_deltas_ms));
        }
        Ok((n, t.sent >= total))
    }

    fn finish_turn(&mut self, i: usize, how: &Finish) -> io::Result<()> {
        let t = self.turns.remove(i);
        if t.gated {
            self.gate_waiting = self.gate_waiting.saturating_sub(1);
        }
        let thread_id = &t.thread_id;
        let turn_id = &t.turn_id;
        let done_ms = now_ms();
        let duration = i64::try_from(t.started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let times = Some((t.started_s, done_ms / 1000, duration));
        let usage = shapes::token_usage(t.sent);
        match (how, &t.sc.fail_turn) {
            (Finish::Normal, Some(spec)) => {
                let error = match spec {
                    Value::Object(_) => spec.clone(),
                    _ => shapes::default_turn_error(),
                };
                self.notify(
                    "thread/status/changed",
                    &json!({"threadId": thread_id, "status": {"type": "systemError"}}),
                )?;
                self.notify(
                    "error",
                    &json!({"error": error, "willRetry": false, "threadId": thread_id, "turnId": turn_id}),
                )?;
                self.notify(
                    "turn/completed",
                    &json!({"threadId": thread_id,
                            "turn": shapes::turn_json(turn_id, "failed", vec![], "notLoaded", error, times, None)}),
                )?;
            }
            (Finish::Normal, None) => {
                let text = if t.sc.stamp_deltas {
                    t.text.clone()
                } else {
                    t.sc.delta_text.repeat(usize::try_from(t.sent).unwrap_or(0))
                };
                let item = shapes::agent_message_item(&t.item_id, &text);
                drop(text);
                self.notify(
                    "item/completed",
                    &json!({"item": item, "threadId": thread_id, "turnId": turn_id, "completedAtMs": done_ms}),
                )?;
                self.notify(
                    "thread/tokenUsage/updated",
                    &json!({"threadId": thread_id, "turnId": turn_id, "tokenUsage": usage}),
                )?;
                self.notify(
                    "thread/status/changed",
                    &json!({"threadId": thread_id, "status": {"type": "idle"}}),
                )?;
                let completed = json!({"threadId": thread_id,
                        "turn": shapes::turn_json(turn_id, "completed", vec![item], "summary", Value::Null, times, None)});
                self.notify("turn/completed", &completed)?;
                if t.sc.duplicate_completion {
                    self.notify("turn/completed", &completed)?;
                }
            }
            (Finish::Interrupted, _) => {
                self.notify(
                    "thread/tokenUsage/updated",
                    &json!({"threadId": thread_id, "turnId": turn_id, "tokenUsage": usage}),
                )?;
                self.notify(
                    "thread/status/changed",
                    &json!({"threadId": thread_id, "status": {"type": "idle"}}),
                )?;
                self.notify(
                    "turn/completed",
                    &json!({"threadId": thread_id,
                            "turn": shapes::turn_json(turn_id, "interrupted", vec![], "notLoaded", Value::Null, times, None)}),
                )?;
            }
        }
        if let Some(id) = &t.pending_response {
            self.respond(id, &shapes::turn_start_response(turn_id))?;
        }
        Ok(())
    }
}
