//! The version gate after `initialize`: a runtime reporting another version fails or passes per
//! policy, and the error says which versions, which binary, and the fix.
#![cfg(all(unix, feature = "install"))]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use openai_codex::config::{BinarySource, VersionPolicy, PINNED_RUNTIME_VERSION};
use openai_codex::{AsyncCodex, CodexConfig, Error};
use support::index::stand_in_script;

/// A stand-in runtime reporting `version`, as an executable file in a fresh folder.
fn stand_in(version: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("codex");
    std::fs::write(&bin, stand_in_script(version)).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    (dir, bin)
}

fn other_minor() -> String {
    let mut parts = PINNED_RUNTIME_VERSION.split('.');
    let major = parts.next().unwrap();
    let minor: u64 = parts.next().unwrap().parse().unwrap();
    format!("{major}.{}.0", minor - 1)
}

fn other_patch() -> String {
    let mut parts: Vec<String> = PINNED_RUNTIME_VERSION
        .split('.')
        .map(String::from)
        .collect();
    parts[2] = "9".into();
    parts.join(".")
}

#[tokio::test]
async fn another_minor_fails_by_default_naming_versions_binary_and_fix() {
    let old = other_minor();
    let (_dir, bin) = stand_in(&old);
    let err = AsyncCodex::new(CodexConfig::default().codex_bin(&bin))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::RuntimeVersionMismatch { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    for needle in [
        old.as_str(),
        PINNED_RUNTIME_VERSION,
        &bin.display().to_string(),
        "CodexConfig::codex_bin",
        "same minor",
        "VersionPolicy::Any",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from: {text}");
    }
}

#[tokio::test]
async fn policy_any_accepts_it_and_metadata_says_which_binary() {
    let old = other_minor();
    let (_dir, bin) = stand_in(&old);
    let codex = AsyncCodex::new(
        CodexConfig::default()
            .codex_bin(&bin)
            .version_policy(VersionPolicy::Any),
    )
    .await
    .unwrap();
    let meta = codex.metadata().clone();
    codex.close().await;
    assert_eq!(meta.server_version, old);
    assert_eq!(meta.binary.as_deref(), Some(bin.as_path()));
    assert_eq!(meta.binary_source, Some(BinarySource::Config));
}

#[tokio::test]
async fn another_patch_passes_same_minor_and_fails_exact() {
    let patch = other_patch();
    let (_dir, bin) = stand_in(&patch);
    let codex = AsyncCodex::new(CodexConfig::default().codex_bin(&bin))
        .await
        .unwrap();
    assert_eq!(codex.metadata().server_version, patch);
    codex.close().await;
    let err = AsyncCodex::new(
        CodexConfig::default()
            .codex_bin(&bin)
            .version_policy(VersionPolicy::Exact),
    )
    .await
    .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("policy: exact"), "{text}");
    assert!(text.contains(&patch), "{text}");
}

#[tokio::test]
async fn the_gate_also_guards_a_launch_override() {
    let old = other_minor();
    let (_dir, bin) = stand_in(&old);
    let err = AsyncCodex::new(
        CodexConfig::default()
            .launch_args_override([bin.display().to_string(), "app-server".into()]),
    )
    .await
    .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("launch_args_override"), "{text}");
    assert!(text.contains(&old), "{text}");
}
