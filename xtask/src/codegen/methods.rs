//! Method tables: marker types, trait impls, the `ServerNotification`/`ServerRequest` enums and
//! the `MethodInfo` tables, from the `ClientRequest`, `ServerNotification`, `ServerRequest` and
//! `ClientNotification` unions of the schema.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use super::emit::doc;
use super::experimental::Experimental;
use super::model::{description, ref_name};
use super::names::pascal;

/// Client requests whose response type does not follow `XParams` → `XResponse`.
const RESPONSE_OVERRIDES: &[(&str, &str)] = &[
    ("account/gatewayOAuth/read", "GatewayOAuthReadResponse"),
    ("account/gatewayOAuth/login", "GatewayOAuthLoginResponse"),
    ("account/gatewayOAuth/cancel", "GatewayOAuthCancelResponse"),
    ("config/mcpServer/reload", "McpServerRefreshResponse"),
    (
        "windowsSandbox/readiness",
        "WindowsSandboxReadinessResponse",
    ),
    ("account/logout", "LogoutAccountResponse"),
    ("account/rateLimits/read", "GetAccountRateLimitsResponse"),
    ("account/usage/read", "GetAccountTokenUsageResponse"),
    (
        "account/workspaceMessages/read",
        "GetWorkspaceMessagesResponse",
    ),
    (
        "externalAgentConfig/import/readHistories",
        "ExternalAgentConfigImportHistoriesReadResponse",
    ),
    ("config/value/write", "ConfigWriteResponse"),
    ("config/batchWrite", "ConfigWriteResponse"),
    ("configRequirements/read", "ConfigRequirementsReadResponse"),
    ("memory/reset", "MemoryResetResponse"),
    ("rollout/compress", "RolloutCompressResponse"),
    (
        "remoteControl/status/read",
        "RemoteControlStatusReadResponse",
    ),
];

/// The params member of one method.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Params {
    /// `{"$ref": X}`
    Ref(String),
    /// `{"anyOf": [{"$ref": X}, {"type": "null"}]}`
    Optional(String),
    /// `{"type": "null"}` or no params member at all.
    Null,
}

impl Params {
    fn rust(&self) -> String {
        match self {
            Params::Ref(n) => format!("crate::types::{n}"),
            Params::Optional(n) => format!("Option<crate::types::{n}>"),
            Params::Null => "()".into(),
        }
    }
    fn display(&self) -> String {
        match self {
            Params::Ref(n) => n.clone(),
            Params::Optional(n) => format!("Option<{n}>"),
            Params::Null => "()".into(),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Method {
    pub method: String,
    pub marker: String,
    pub doc: Option<String>,
    pub params: Params,
    pub response: Option<String>,
}

pub(crate) struct Methods {
    pub client_requests: Vec<Method>,
    pub server_notifications: Vec<Method>,
    pub server_requests: Vec<Method>,
    pub client_notifications: Vec<Method>,
}

pub(crate) fn collect(defs: &BTreeMap<String, Value>) -> Result<Methods, String> {
    let mut client_requests = parse_union(defs, "ClientRequest")?;
    for m in &mut client_requests {
        m.response = Some(resolve_response(defs, m)?);
    }
    let mut server_requests = parse_union(defs, "ServerRequest")?;
    for m in &mut server_requests {
        let response = match &m.params {
            Params::Ref(p) => p.strip_suffix("Params").map(|s| format!("{s}Response")),
            _ => None,
        }
        .filter(|r| defs.contains_key(r))
        .ok_or_else(|| {
            format!(
                "server request `{}` has no `XParams` → `XResponse` response type",
                m.method
            )
        })?;
        m.response = Some(response);
    }
    let server_notifications = parse_union(defs, "ServerNotification")?;
    let client_notifications = parse_union(defs, "ClientNotification")?;
    for (name, list) in [
        ("client requests", &client_requests),
        ("server notifications", &server_notifications),
        ("server requests", &server_requests),
        ("client notifications", &client_notifications),
    ] {
        let mut seen = BTreeSet::new();
        for m in list {
            if !seen.insert(&m.marker) {
                return Err(format!("two {name} map to the marker type `{}`", m.marker));
            }
        }
    }
    Ok(Methods {
        client_requests,
        server_notifications,
        server_requests,
        client_notifications,
    })
}

fn resolve_response(defs: &BTreeMap<String, Value>, m: &Method) -> Result<String, String> {
    if let Some((_, r)) = RESPONSE_OVERRIDES.iter().find(|(k, _)| *k == m.method) {
        return if defs.contains_key(*r) {
            Ok((*r).to_string())
        } else {
            Err(format!(
                "the response override for `{}` names `{r}`, which the schema does not define",
                m.method
            ))
        };
    }
    let by_convention = match &m.params {
        Params::Ref(p) | Params::Optional(p) => {
            p.strip_suffix("Params").map(|s| format!("{s}Response"))
        }
        Params::Null => None,
    };
    by_convention
        .filter(|r| defs.contains_key(r))
        .ok_or_else(|| {
            format!(
                "client request `{}` (params {}) has no resolvable response type: neither the \
             `XParams` → `XResponse` convention nor RESPONSE_OVERRIDES in \
             xtask/src/codegen/methods.rs covers it",
                m.method,
                m.params.display()
            )
        })
}

fn parse_union(defs: &BTreeMap<String, Value>, name: &str) -> Result<Vec<Method>, String> {
    let members = defs
        .get(name)
        .and_then(|d| d.get("oneOf"))
        .and_then(Value::as_array)
        .ok_or_else(|| format!("schema has no `{name}` union"))?;
    let mut out = Vec::new();
    for member in members {
        let props = member
            .get("properties")
            .ok_or_else(|| format!("`{name}` member without properties"))?;
        let method = props
            .get("method")
            .and_then(|m| m.get("enum"))
            .and_then(Value::as_array)
            .and_then(|e| match e.as_slice() {
                [Value::String(s)] => Some(s.clone()),
                _ => None,
            })
            .ok_or_else(|| format!("`{name}` member without a single method name"))?;
        let params = match props.get("params") {
            None => Params::Null,
            Some(p) => parse_params(p).map_err(|e| format!("`{method}` params: {e}"))?,
        };
        for n in [&params].iter().filter_map(|p| match p {
            Params::Ref(n) | Params::Optional(n) => Some(n),
            Params::Null => None,
        }) {
            if !defs.contains_key(n.as_str()) {
                return Err(format!("`{method}` params type `{n}` is not defined"));
            }
        }
        let doc = description(member).map(|d| {
            d.trim_start_matches("NEW APIs")
                .trim_start_matches("NEW NOTIFICATIONS")
                .trim()
                .to_string()
        });
        out.push(Method {
            marker: method.split('/').map(pascal).collect(),
            method,
            doc: doc.filter(|d| !d.is_empty()),
            params,
            response: None,
        });
    }
    Ok(out)
}

fn parse_params(p: &Value) -> Result<Params, String> {
    if let Some(r) = p.get("$ref").and_then(Value::as_str) {
        return Ok(Params::Ref(ref_name(r)?));
    }
    if p.get("type").and_then(Value::as_str) == Some("null") {
        return Ok(Params::Null);
    }
    if let Some(any) = p.get("anyOf").and_then(Value::as_array) {
        if let [a, b] = any.as_slice() {
            let null = Value::String("null".into());
            if b.get("type") == Some(&null) {
                if let Some(r) = a.get("$ref").and_then(Value::as_str) {
                    return Ok(Params::Optional(ref_name(r)?));
                }
            }
        }
    }
    Err(format!("unsupported params schema `{p}`"))
}

fn marker_doc(out: &mut String, m: &Method, kind: &str) {
    let mut text = format!("`{}`: {kind}.", m.method);
    if let Some(d) = &m.doc {
        text.push_str("\n\n");
        text.push_str(d);
    }
    text.push_str(&format!("\n\nParams: `{}`.", m.params.display()));
    if let Some(r) = &m.response {
        text.push_str(&format!(" Response: `{r}`."));
    }
    doc(out, &text, "");
}

/// The cfg line gating an experimental method's items, or nothing.
fn gate(marks: &Experimental, m: &Method) -> &'static str {
    Experimental::cfg(marks.method(&m.method))
}

const MARKER_DERIVES: &str = "#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]";

fn table(out: &mut String, name: &str, what: &str, methods: &[Method], marks: &Experimental) {
    let _ = writeln!(
        out,
        "/// Every {what} of the schema, in schema order.\npub const {name}: &[crate::MethodInfo] = &["
    );
    for m in methods {
        let response = match &m.response {
            Some(r) => format!("Some({r:?})"),
            None => "None".into(),
        };
        let _ = writeln!(
            out,
            "    {}crate::MethodInfo {{ method: {:?}, params_type: {:?}, response_type: {response} }},",
            gate(marks, m),
            m.method,
            m.params.display()
        );
    }
    out.push_str("];\n");
}

pub(crate) fn requests_module(methods: &Methods, marks: &Experimental) -> String {
    let mut out = String::from(
        "//! One marker type per client request (`thread/start` → [`ThreadStart`]), implementing\n\
         //! [`ClientRequest`](crate::ClientRequest).\n\n",
    );
    for m in &methods.client_requests {
        marker_doc(&mut out, m, "a request from the client to the server");
        let _ = writeln!(
            out,
            "{gate}{MARKER_DERIVES}\npub struct {0};\n\n{gate}impl crate::ClientRequest for {0} {{\n    \
             const METHOD: &'static str = {1:?};\n    type Params = {2};\n    \
             type Response = crate::types::{3};\n}}\n",
            m.marker,
            m.method,
            m.params.rust(),
            m.response.as_deref().expect("resolved"),
            gate = gate(marks, m),
        );
    }
    table(
        &mut out,
        "CLIENT_REQUESTS",
        "client request",
        &methods.client_requests,
        marks,
    );
    out
}

pub(crate) fn client_notifications_module(methods: &Methods, marks: &Experimental) -> String {
    let mut out = String::from(
        "//! One marker type per client notification (`initialized` → [`Initialized`]),\n\
         //! implementing [`ClientNotificationMethod`](crate::ClientNotificationMethod).\n\n",
    );
    for m in &methods.client_notifications {
        marker_doc(&mut out, m, "a notification from the client to the server");
        let _ = writeln!(
            out,
            "{gate}{MARKER_DERIVES}\npub struct {0};\n\n{gate}impl crate::ClientNotificationMethod for {0} {{\n    \
             const METHOD: &'static str = {1:?};\n    type Params = {2};\n}}\n",
            m.marker,
            m.method,
            m.params.rust(),
            gate = gate(marks, m),
        );
    }
    table(
        &mut out,
        "CLIENT_NOTIFICATIONS",
        "client notification",
        &methods.client_notifications,
        marks,
    );
    out
}

pub(crate) fn server_requests_module(methods: &Methods, marks: &Experimental) -> String {
    let mut out = String::from(
        "//! One marker type per server request (`item/commandExecution/requestApproval` →\n\
         //! [`ItemCommandExecutionRequestApproval`]), implementing\n\
         //! [`ServerRequestMethod`](crate::ServerRequestMethod), and the [`ServerRequest`] enum.\n\n",
    );
    for m in &methods.server_requests {
        marker_doc(&mut out, m, "a request from the server to the client");
        let _ = writeln!(
            out,
            "{gate}{MARKER_DERIVES}\npub struct {0};\n\n{gate}impl crate::ServerRequestMethod for {0} {{\n    \
             const METHOD: &'static str = {1:?};\n    type Params = {2};\n    \
             type Response = crate::types::{3};\n}}\n",
            m.marker,
            m.method,
            m.params.rust(),
            m.response.as_deref().expect("resolved"),
            gate = gate(marks, m),
        );
    }
    dispatch_enum(
        &mut out,
        "ServerRequest",
        "A request from the server, decoded by its method. Variants are named like the marker \
         types of this module (the method in PascalCase).",
        "request",
        &methods.server_requests,
        marks,
    );
    table(
        &mut out,
        "SERVER_REQUESTS",
        "server request",
        &methods.server_requests,
        marks,
    );
    out
}

pub(crate) fn notifications_module(methods: &Methods, marks: &Experimental) -> String {
    let mut out = String::from(
        "//! One marker type per server notification (`item/agentMessage/delta` →\n\
         //! [`ItemAgentMessageDelta`]), implementing\n\
         //! [`ServerNotificationMethod`](crate::ServerNotificationMethod), and the\n\
         //! [`ServerNotification`] enum.\n\n",
    );
    for m in &methods.server_notifications {
        marker_doc(&mut out, m, "a notification from the server to the client");
        let _ = writeln!(
            out,
            "{gate}{MARKER_DERIVES}\npub struct {0};\n\n{gate}impl crate::ServerNotificationMethod for {0} {{\n    \
             const METHOD: &'static str = {1:?};\n    type Payload = {2};\n}}\n",
            m.marker,
            m.method,
            m.params.rust(),
            gate = gate(marks, m),
        );
    }
    dispatch_enum(
        &mut out,
        "ServerNotification",
        "A notification from the server, decoded by its method. Variants are named like the \
         marker types of this module (the method in PascalCase): `item/completed` → \
         `ServerNotification::ItemCompleted`.",
        "notification",
        &methods.server_notifications,
        marks,
    );
    table(
        &mut out,
        "SERVER_NOTIFICATIONS",
        "server notification",
        &methods.server_notifications,
        marks,
    );
    out
}

/// `enum Name { Marker(Params), …, Unknown { method, params } }` with `decode`, `method` and
/// `{"method","params"}` serde impls.
fn dispatch_enum(
    out: &mut String,
    name: &str,
    about: &str,
    what: &str,
    methods: &[Method],
    marks: &Experimental,
) {
    doc(out, about, "");
    let _ = writeln!(
        out,
        "#[derive(Debug, Clone, PartialEq)]\npub enum {name} {{"
    );
    for m in methods {
        let mut text = format!("`{}`.", m.method);
        if let Some(d) = &m.doc {
            text.push_str("\n\n");
            text.push_str(d);
        }
        doc(out, &text, "    ");
        let _ = writeln!(
            out,
            "    {}{}({}),",
            gate(marks, m),
            m.marker,
            m.params.rust()
        );
    }
    let _ = writeln!(
        out,
        "    /// A {what} whose method this version of the protocol does not know.\n    \
         Unknown {{\n        /// The method name as sent.\n        method: String,\n        \
         /// The params as sent (`null` when absent).\n        params: serde_json::Value,\n    }},\n}}\n"
    );
    let _ = writeln!(
        out,
        "impl {name} {{\n    /// Decodes the params of a {what} with the given method straight from the raw JSON\n    \
         /// text into the typed payload. An unknown method gives [`{name}::Unknown`].\n    \
         pub fn decode(method: &str, params: &serde_json::value::RawValue) -> Result<Self, serde_json::Error> {{\n        \
         Ok(match method {{"
    );
    for m in methods {
        let _ = writeln!(
            out,
            "            {}{:?} => Self::{}(serde_json::from_str(params.get())?),",
            gate(marks, m),
            m.method,
            m.marker
        );
    }
    let _ = writeln!(
        out,
        "            _ => Self::Unknown {{ method: method.to_owned(), params: serde_json::from_str(params.get())? }},\n        \
         }})\n    }}\n\n    /// The method name of this {what}.\n    pub fn method(&self) -> &str {{\n        match self {{"
    );
    for m in methods {
        let _ = writeln!(
            out,
            "            {}Self::{}(_) => {:?},",
            gate(marks, m),
            m.marker,
            m.method
        );
    }
    let _ = writeln!(
        out,
        "            Self::Unknown {{ method, .. }} => method,\n        }}\n    }}\n}}\n"
    );
    // Serialize as {"method", "params"}.
    let _ = writeln!(
        out,
        "impl serde::Serialize for {name} {{\n    \
         fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {{\n        \
         use serde::ser::SerializeStruct;\n        \
         let mut state = serializer.serialize_struct({name:?}, 2)?;\n        \
         state.serialize_field(\"method\", self.method())?;\n        match self {{"
    );
    for m in methods {
        let _ = writeln!(
            out,
            "            {}Self::{}(params) => state.serialize_field(\"params\", params)?,",
            gate(marks, m),
            m.marker
        );
    }
    let _ = writeln!(
        out,
        "            Self::Unknown {{ params, .. }} => state.serialize_field(\"params\", params)?,\n        \
         }}\n        state.end()\n    }}\n}}\n"
    );
    let _ = writeln!(
        out,
        "impl<'de> serde::Deserialize<'de> for {name} {{\n    \
         fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {{\n        \
         #[derive(serde::Deserialize)]\n        struct Envelope {{\n            method: String,\n            \
         #[serde(default)]\n            params: serde_json::Value,\n        }}\n        \
         let envelope = Envelope::deserialize(deserializer)?;\n        \
         let raw = serde_json::value::to_raw_value(&envelope.params).map_err(serde::de::Error::custom)?;\n        \
         Self::decode(&envelope.method, &raw).map_err(serde::de::Error::custom)\n    }}\n}}\n"
    );
}

/// `ServerNotification::thread_id()` and `turn_id()`: which params member carries each id
/// (`threadId`; `turnId` or else `turn.id`), read from the params definitions, so routing code
/// need not match every variant.
pub(crate) fn notification_ids_impl(
    defs: &BTreeMap<String, Value>,
    methods: &Methods,
    marks: &Experimental,
) -> Result<String, String> {
    let mut thread_arms = String::new();
    let mut turn_arms = String::new();
    for m in &methods.server_notifications {
        let Params::Ref(params) = &m.params else {
            continue;
        };
        let def = defs
            .get(params)
            .ok_or_else(|| format!("`{}` params type `{params}` is not defined", m.method))?;
        let props = def.get("properties").and_then(Value::as_object);
        let has = |name: &str| props.is_some_and(|p| p.contains_key(name));
        if has("threadId") {
            let _ = writeln!(
                thread_arms,
                "            {}Self::{}(p) => AsId::as_id(&p.thread_id),",
                gate(marks, m),
                m.marker
            );
        }
        if has("turnId") {
            let _ = writeln!(
                turn_arms,
                "            {}Self::{}(p) => AsId::as_id(&p.turn_id),",
                gate(marks, m),
                m.marker
            );
        } else if has("turn") {
            let turn_ref = props
                .and_then(|p| p.get("turn"))
                .and_then(|t| t.get("$ref"))
                .and_then(Value::as_str)
                .map(ref_name)
                .transpose()?;
            if turn_ref.as_deref() == Some("Turn") {
                let _ = writeln!(
                    turn_arms,
                    "            {}Self::{}(p) => AsId::as_id(&p.turn.id),",
                    gate(marks, m),
                    m.marker
                );
            }
        }
    }
    Ok(format!(
        "/// Reads an id member whether the schema makes it required or optional.\n\
         trait AsId {{\n    fn as_id(&self) -> Option<&str>;\n}}\n\n\
         impl AsId for String {{\n    fn as_id(&self) -> Option<&str> {{\n        Some(self)\n    }}\n}}\n\n\
         impl AsId for Option<String> {{\n    fn as_id(&self) -> Option<&str> {{\n        self.as_deref()\n    }}\n}}\n\n\
         impl ServerNotification {{\n    \
         /// The thread this notification is about (`params.threadId`), when it names one.\n    \
         pub fn thread_id(&self) -> Option<&str> {{\n        match self {{\n{thread_arms}            \
         Self::Unknown {{ params, .. }} => params.get(\"threadId\").and_then(serde_json::Value::as_str),\n            \
         _ => None,\n        }}\n    }}\n\n    \
         /// The turn this notification is about (`params.turnId`, else `params.turn.id`), when it\n    \
         /// names one.\n    \
         pub fn turn_id(&self) -> Option<&str> {{\n        match self {{\n{turn_arms}            \
         Self::Unknown {{ params, .. }} => params\n                .get(\"turnId\")\n                \
         .or_else(|| params.pointer(\"/turn/id\"))\n                .and_then(serde_json::Value::as_str),\n            \
         _ => None,\n        }}\n    }}\n}}\n"
    ))
}
