//! Reading a package's page from a Python package index: the simple repository API, as JSON
//! (PEP 691) or HTML (PEP 503).
//!
//! The simple API is what every mirror (devpi, Artifactory, Nexus, a plain folder behind a web
//! server) serves; PyPI's older `/pypi/<name>/json` API is PyPI's own and mirrors rarely offer it.

use std::io::Read;
use std::time::Duration;

use serde::Deserialize;

use super::error::InstallError;
use super::{INDEX_URL_ENV, RUNTIME_WHEEL_ENV};

/// One file the index lists for the package.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct IndexFile {
    pub(crate) filename: String,
    /// Absolute URL.
    pub(crate) url: String,
    /// The SHA-256 the index publishes, lowercase hex.
    pub(crate) sha256: Option<String>,
}

/// The largest index page accepted (PyPI's page for this package, every version, is ~0.5 MB).
const PAGE_LIMIT: u64 = 64 * 1024 * 1024;

pub(crate) fn agent() -> ureq::Agent {
    let tls = ureq::tls::TlsConfig::builder()
        // The OS trust store: corporate proxies and private mirrors sign with their own roots.
        .root_certs(ureq::tls::RootCerts::PlatformVerifier)
        .build();
    ureq::Agent::config_builder()
        .tls_config(tls)
        .timeout_connect(Some(Duration::from_secs(20)))
        // Per read, not per download: a slow line still finishes, a dead one fails.
        .timeout_recv_body(None)
        .timeout_per_read(Some(Duration::from_secs(60)))
        .user_agent(concat!("openai-codex-rust/", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

pub(crate) fn network_error(url: &str, reason: impl std::fmt::Display) -> InstallError {
    InstallError::Network {
        url: url.to_string(),
        reason: reason.to_string(),
        env: INDEX_URL_ENV,
        wheel_env: RUNTIME_WHEEL_ENV,
    }
}

/// The page URL of `package` on the index at `index_url`.
pub(crate) fn page_url(index_url: &str, package: &str) -> String {
    format!(
        "{}/{}/",
        index_url.trim_end_matches('/'),
        normalize(package)
    )
}

/// PEP 503 name normalization.
fn normalize(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut last_dash = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !last_dash {
                out.push('-');
            }
            last_dash = true;
        } else {
            out.push(c.to_ascii_lowercase());
            last_dash = false;
        }
    }
    out
}

/// Fetches and parses the package page.
pub(crate) fn list_files(
    agent: &ureq::Agent,
    index_url: &str,
    package: &str,
) -> Result<Vec<IndexFile>, InstallError> {
    let url = page_url(index_url, package);
    let mut response = agent
        .get(&url)
        .header(
            "Accept",
            "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1",
        )
        .call()
        .map_err(|e| network_error(&url, e))?;
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let mut body = String::new();
    response
        .body_mut()
        .as_reader()
        .take(PAGE_LIMIT)
        .read_to_string(&mut body)
        .map_err(|e| network_error(&url, e))?;
    let files = if content_type.contains("json") {
        parse_json(&body, &url)?
    } else {
        parse_html(&body, &url)
    };
    Ok(files)
}

#[derive(Deserialize)]
struct JsonPage {
    files: Vec<JsonFile>,
}

#[derive(Deserialize)]
struct JsonFile {
    filename: String,
    url: String,
    #[serde(default)]
    hashes: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    yanked: serde_json::Value,
}

fn parse_json(body: &str, page: &str) -> Result<Vec<IndexFile>, InstallError> {
    let parsed: JsonPage = serde_json::from_str(body).map_err(|e| InstallError::BadIndex {
        url: page.to_string(),
        reason: format!("not a simple-API JSON page ({e})"),
        env: INDEX_URL_ENV,
    })?;
    Ok(parsed
        .files
        .into_iter()
        // A yanked file is `true` or a reason string; pip skips them for `==` pins only when
        // another file fits, but a yanked runtime is never what we want.
        .filter(|f| {
            matches!(
                f.yanked,
                serde_json::Value::Null | serde_json::Value::Bool(false)
            )
        })
        .map(|f| IndexFile {
            url: join_url(page, &f.url),
            sha256: f.hashes.get("sha256").map(|h| h.to_ascii_lowercase()),
            filename: f.filename,
        })
        .collect())
}

/// Reads `<a href="URL#sha256=HEX">FILENAME</a>` anchors.
fn parse_html(body: &str, page: &str) -> Vec<IndexFile> {
    let mut files = Vec::new();
    let mut rest = body;
    while let Some(start) = find_ci(rest, "<a ") {
        rest = &rest[start + 3..];
        let Some(tag_end) = rest.find('>') else { break };
        let attrs = &rest[..tag_end];
        let after = &rest[tag_end + 1..];
        let Some(text_end) = find_ci(after, "</a>") else {
            break;
        };
        let text = after[..text_end].trim().to_string();
        rest = &after[text_end..];
        if attrs.contains("data-yanked") {
            continue;
        }
        let Some(href) = attribute(attrs, "href") else {
            continue;
        };
        let href = unescape(&href);
        let (link, fragment) = href.split_once('#').unwrap_or((&href, ""));
        let sha256 = fragment
            .strip_prefix("sha256=")
            .map(|h| h.to_ascii_lowercase());
        let filename = if text.is_empty() {
            link.rsplit('/').next().unwrap_or_default().to_string()
        } else {
            text
        };
        files.push(IndexFile {
            filename,
            url: join_url(page, link),
            sha256,
        });
    }
    files
}

fn find_ci(haystack: &str, needle: &str) -> Option<usize> {
    haystack.to_ascii_lowercase().find(needle)
}

fn attribute(attrs: &str, name: &str) -> Option<String> {
    let lower = attrs.to_ascii_lowercase();
    let at = lower.find(&format!("{name}="))?;
    let value = &attrs[at + name.len() + 1..];
    let quote = value.chars().next()?;
    if quote == '"' || quote == '\'' {
        let inner = &value[1..];
        inner.find(quote).map(|end| inner[..end].to_string())
    } else {
        Some(
            value
                .split(|c: char| c.is_whitespace())
                .next()
                .unwrap_or_default()
                .to_string(),
        )
    }
}

fn unescape(text: &str) -> String {
    text.replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
}

/// Resolves `link` against the page URL (absolute, scheme-relative, host-relative or relative).
pub(crate) fn join_url(page: &str, link: &str) -> String {
    if link.contains("://") {
        return link.to_string();
    }
    let (scheme, rest) = page.split_once("://").unwrap_or(("https", page));
    if let Some(stripped) = link.strip_prefix("//") {
        return format!("{scheme}://{stripped}");
    }
    let host_end = rest.find('/').unwrap_or(rest.len());
    let origin = format!("{scheme}://{}", &rest[..host_end]);
    if link.starts_with('/') {
        return format!("{origin}{link}");
    }
    let path = &rest[host_end..];
    let dir = match path.rfind('/') {
        Some(slash) => &path[..=slash],
        None => "/",
    };
    let mut segments: Vec<&str> = dir.split('/').filter(|s| !s.is_empty()).collect();
    for part in link.split('/') {
        match part {
            "." | "" => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    format!("{origin}/{}", segments.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalized() {
        assert_eq!(
            page_url("https://pypi.org/simple/", "openai_codex.cli-bin"),
            "https://pypi.org/simple/openai-codex-cli-bin/"
        );
    }

    #[test]
    fn links_resolve_against_the_page() {
        let page = "http://127.0.0.1:8080/simple/openai-codex-cli-bin/";
        assert_eq!(join_url(page, "https://h/x.whl"), "https://h/x.whl");
        assert_eq!(
            join_url(page, "/files/x.whl"),
            "http://127.0.0.1:8080/files/x.whl"
        );
        assert_eq!(
            join_url(page, "../../files/x.whl"),
            "http://127.0.0.1:8080/files/x.whl"
        );
        assert_eq!(
            join_url(page, "x.whl"),
            "http://127.0.0.1:8080/simple/openai-codex-cli-bin/x.whl"
        );
    }

    #[test]
    fn html_pages_give_files_and_digests() {
        // The shape PyPI serves (PEP 503), yanked files skipped.
        let html = r#"<!DOCTYPE html><html><body>
<a href="https://files.example/p/a-1.0-py3-none-win_amd64.whl#sha256=ABCD" data-requires-python="&gt;=3.10">a-1.0-py3-none-win_amd64.whl</a><br/>
<a href="../../p/b.whl" data-yanked="">b.whl</a><br/>
</body></html>"#;
        let files = parse_html(html, "https://idx.example/simple/a/");
        assert_eq!(
            files,
            vec![IndexFile {
                filename: "a-1.0-py3-none-win_amd64.whl".into(),
                url: "https://files.example/p/a-1.0-py3-none-win_amd64.whl".into(),
                sha256: Some("abcd".into()),
            }]
        );
    }

    #[test]
    fn json_pages_give_files_and_digests() {
        let json = r#"{"meta":{"api-version":"1.1"},"name":"a","files":[
            {"filename":"a-1.0-py3-none-win_amd64.whl","url":"/f/a.whl","hashes":{"sha256":"00ff"},"yanked":false},
            {"filename":"a-0.9-py3-none-win_amd64.whl","url":"/f/old.whl","hashes":{},"yanked":"broken"}]}"#;
        let files = parse_json(json, "http://127.0.0.1:1/simple/a/").unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].url, "http://127.0.0.1:1/f/a.whl");
        assert_eq!(files[0].sha256.as_deref(), Some("00ff"));
        assert!(parse_json("<html>", "u").is_err());
    }
}
