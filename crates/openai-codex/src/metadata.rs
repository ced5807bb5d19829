//! The `initialize` handshake and what it tells about the runtime.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::config::{BinarySource, CodexConfig};
use crate::error::{Error, Result};
use crate::rpc::Connection;

/// What the runtime said in its `initialize` response, normalized.
///
/// The runtime 0.163.0 sends no `serverInfo`; its version is the token after the first `/` of
/// the user agent. (The official SDK reports the *client's* name as the server name; here the
/// runtime is named `codex` unless it says otherwise.)
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Metadata {
    /// The runtime's name (`serverInfo.name`, else `codex`).
    pub server_name: String,
    /// The runtime's version (`serverInfo.version`, else parsed from the user agent).
    pub server_version: String,
    /// The raw user agent.
    pub user_agent: String,
    /// The runtime's `CODEX_HOME`.
    pub codex_home: Option<String>,
    /// `unix` / `windows`.
    pub platform_family: Option<String>,
    /// `linux` / `macos` / `windows`.
    pub platform_os: Option<String>,
    /// The whole response, as sent.
    pub raw: Value,
    /// The runtime executable this client started (`None` for a custom transport).
    #[serde(default)]
    pub binary: Option<std::path::PathBuf>,
    /// How that executable was found.
    #[serde(default)]
    pub binary_source: Option<BinarySource>,
}

pub(crate) async fn initialize(conn: &Connection, config: &CodexConfig) -> Result<Metadata> {
    let params = json!({
        "clientInfo": {
            "name": config.client_name,
            "title": config.client_title,
            "version": config.client_version,
        },
        "capabilities": {"experimentalApi": config.experimental_api},
    });
    let raw_params = crate::rpc::encode_params(&params)?;
    let result = conn
        .request_raw("initialize", raw_params.as_deref(), config.request_timeout)
        .await?;
    let raw: Value = crate::rpc::decode("initialize", &result)?;
    conn.notify_raw("initialized", None)?;
    parse(raw)
}

fn parse(raw: Value) -> Result<Metadata> {
    let text = |v: Option<&Value>| {
        v.and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let user_agent = text(raw.get("userAgent"))
        .ok_or_else(|| Error::Protocol(format!("initialize response has no userAgent: {raw}")))?;
    let server_info = raw.get("serverInfo");
    let server_name =
        text(server_info.and_then(|s| s.get("name"))).unwrap_or_else(|| "codex".into());
    let server_version = text(server_info.and_then(|s| s.get("version")))
        .or_else(|| version_from_user_agent(&user_agent))
        .ok_or_else(|| {
            Error::Protocol(format!(
                "cannot tell the runtime version from the initialize response: {raw}"
            ))
        })?;
    Ok(Metadata {
        server_name,
        server_version,
        codex_home: text(raw.get("codexHome")),
        platform_family: text(raw.get("platformFamily")),
        platform_os: text(raw.get("platformOs")),
        user_agent,
        raw,
        binary: None,
        binary_source: None,
    })
}

fn version_from_user_agent(user_agent: &str) -> Option<String> {
    let rest = match user_agent.split_once('/') {
        Some((_, rest)) => rest,
        None => user_agent.split_whitespace().nth(1)?,
    };
    rest.split_whitespace().next().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_comes_from_the_user_agent_and_name_is_the_runtime() {
        let m = parse(json!({
            "userAgent": "my_app/0.163.0 (Debian 12.0.0; x86_64) xterm (my_app; 9.9.9)",
            "codexHome": "/h", "platformFamily": "unix", "platformOs": "linux"
        }))
        .unwrap();
        assert_eq!(m.server_name, "codex");
        assert_eq!(m.server_version, "0.163.0");
        assert_eq!(m.codex_home.as_deref(), Some("/h"));
    }

    #[test]
    fn server_info_wins_and_missing_user_agent_fails() {
        let m =
            parse(json!({"userAgent": "x/1.0", "serverInfo": {"name": "srv", "version": "2.0"}}))
                .unwrap();
        assert_eq!(
            (m.server_name.as_str(), m.server_version.as_str()),
            ("srv", "2.0")
        );
        assert!(parse(json!({"codexHome": "/h"})).is_err());
    }
}
