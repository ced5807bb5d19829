//! The runtime installer against a package index on 127.0.0.1 serving wheels built here.
#![cfg(all(unix, feature = "install"))]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use openai_codex::config::BinarySource;
use openai_codex::runtime::{InstallError, Installer, PINNED_WHEELS};
use openai_codex::{AsyncCodex, CodexConfig, Error};
use support::index::{build_wheel, stand_in_script, wheel_name, IndexServer, Wheel, PINNED};

/// A stand-in wheel of the pinned version, under a name that is *not* a pinned file (a local
/// build tag, as a repackaged wheel would carry), so its digest must be named explicitly.
fn custom_wheel(version: &str) -> Wheel {
    Wheel::new(
        format!(
            "openai_codex_cli_bin-{version}-1local-py3-none-{}",
            platform_tag()
        ),
        build_wheel(&stand_in_script(version), version),
    )
}

fn platform_tag() -> String {
    // `wheel_name` ends with `<platform>.whl`; keep that, rename the rest.
    wheel_name("x").rsplit("-").next().unwrap().to_string()
}

fn installer(index: &IndexServer, store: &Path) -> Installer {
    Installer::new()
        .index_url(index.url())
        .store(store)
        .progress(false)
}

fn version_dirs(store: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(store)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with(".lock-"))
        .collect();
    names.sort();
    names
}

#[test]
fn installs_only_the_runtime_folders_with_exec_bits_and_reuses_the_install() {
    let wheel = custom_wheel(PINNED);
    let index = IndexServer::start(vec![wheel.clone()]);
    let store = tempfile::tempdir().unwrap();
    let installed = installer(&index, store.path())
        .expected_sha256(wheel.sha256())
        .install()
        .unwrap();
    assert!(installed.fresh);
    assert_eq!(installed.version, PINNED);
    assert_eq!(installed.sha256, wheel.sha256());
    assert_eq!(installed.wheel, wheel.filename);
    let pkg = store.path().join(PINNED).join("codex_cli_bin");
    assert_eq!(installed.binary, pkg.join("bin").join("codex"));
    for exe in ["bin/codex", "codex-path/rg", "codex-resources/bwrap"] {
        let mode = std::fs::metadata(pkg.join(exe))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o111, 0o111, "{exe} is not executable: {mode:o}");
    }
    // The package description the runtime reads (its daemon refuses to start without it) is
    // kept; Python glue and metadata stay out; nothing else is left in the store.
    assert!(pkg.join("codex-package.json").is_file());
    assert!(!pkg.join("__init__.py").exists());
    assert_eq!(version_dirs(store.path()), vec![PINNED.to_string()]);
    let output = Command::new(&installed.binary)
        .arg("--version")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        format!("codex-cli {PINNED}")
    );

    // A second install finds it and does not download again.
    let again = installer(&index, store.path())
        .expected_sha256(wheel.sha256())
        .install()
        .unwrap();
    assert!(!again.fresh);
    assert_eq!(again.binary, installed.binary);
    assert_eq!(index.downloads(), 1);
}

#[test]
fn a_wrong_digest_installs_nothing() {
    let wheel = custom_wheel(PINNED);
    let index = IndexServer::start(vec![wheel.clone()]);
    let store = tempfile::tempdir().unwrap();
    let wrong = "0".repeat(64);
    let err = installer(&index, store.path())
        .expected_sha256(&wrong)
        .install()
        .unwrap_err();
    match &err {
        InstallError::DigestMismatch {
            expected, actual, ..
        } => {
            assert_eq!(expected, &wrong);
            assert_eq!(actual, &wheel.sha256());
        }
        other => panic!("expected a digest mismatch, got {other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains(&wheel.filename), "{text}");
    assert!(text.contains("OPENAI_CODEX_RUNTIME_SHA256"), "{text}");
    assert!(
        version_dirs(store.path()).is_empty(),
        "{:?}",
        version_dirs(store.path())
    );
}

#[test]
fn a_pinned_file_name_must_match_the_pinned_digest_whatever_the_index_publishes() {
    // The index serves a stand-in under the real release's file name, and publishes the
    // stand-in's (correct) digest: the installer still demands the digest pinned in the SDK.
    let name = wheel_name(PINNED);
    let pinned = PINNED_WHEELS
        .iter()
        .find(|w| w.filename == name)
        .expect("the pinned release has a wheel for this platform");
    let wheel = Wheel::new(name.clone(), build_wheel(&stand_in_script(PINNED), PINNED));
    let index = IndexServer::start(vec![wheel.clone()]);
    let store = tempfile::tempdir().unwrap();
    let err = installer(&index, store.path()).install().unwrap_err();
    match &err {
        InstallError::DigestMismatch {
            expected,
            actual,
            origin,
            ..
        } => {
            assert_eq!(expected, pinned.sha256);
            assert_eq!(actual, &wheel.sha256());
            assert!(origin.contains("pinned"), "{origin}");
        }
        other => panic!("expected a digest mismatch, got {other:?}"),
    }
    assert!(version_dirs(store.path()).is_empty());
}

#[test]
fn an_unpinned_file_of_the_pinned_version_needs_an_explicit_digest() {
    let wheel = custom_wheel(PINNED);
    let index = IndexServer::start(vec![wheel]);
    let store = tempfile::tempdir().unwrap();
    let err = installer(&index, store.path()).install().unwrap_err();
    assert!(matches!(err, InstallError::UnknownDigest { .. }), "{err:?}");
    assert!(
        err.to_string().contains("OPENAI_CODEX_RUNTIME_SHA256"),
        "{err}"
    );
    assert_eq!(
        index.downloads(),
        0,
        "nothing is downloaded without a trusted digest"
    );
}

#[test]
fn no_wheel_for_this_platform_lists_what_the_index_has() {
    let other = Wheel::new(
        format!("openai_codex_cli_bin-{PINNED}-py3-none-some_other_os_sparc64.whl"),
        b"not for us".to_vec(),
    );
    let index = IndexServer::start(vec![other]);
    let store = tempfile::tempdir().unwrap();
    let err = installer(&index, store.path()).install().unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, InstallError::NoWheelForPlatform { .. }),
        "{err:?}"
    );
    assert!(text.contains("some_other_os_sparc64"), "{text}");
    assert!(text.contains(std::env::consts::OS), "{text}");
    assert!(text.contains("OPENAI_CODEX_INDEX_URL"), "{text}");
}

#[test]
fn an_unreachable_index_names_the_url_and_the_mirror_variable() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/simple");
    let store = tempfile::tempdir().unwrap();
    let err = Installer::new()
        .index_url(&url)
        .store(store.path())
        .progress(false)
        .install()
        .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, InstallError::Network { .. }), "{err:?}");
    assert!(
        text.contains(&format!("{url}/openai-codex-cli-bin/")),
        "{text}"
    );
    assert!(text.contains("OPENAI_CODEX_INDEX_URL"), "{text}");
}

#[test]
fn an_interrupted_download_installs_nothing_and_a_retry_succeeds() {
    let wheel = custom_wheel(PINNED);
    let index = IndexServer::start(vec![wheel.clone()]);
    index.cut_downloads(true);
    let store = tempfile::tempdir().unwrap();
    let err = installer(&index, store.path())
        .expected_sha256(wheel.sha256())
        .install()
        .unwrap_err();
    assert!(matches!(err, InstallError::Network { .. }), "{err:?}");
    assert!(err.to_string().contains("/files/"), "{err}");
    assert!(
        version_dirs(store.path()).is_empty(),
        "{:?}",
        version_dirs(store.path())
    );

    index.cut_downloads(false);
    let installed = installer(&index, store.path())
        .expected_sha256(wheel.sha256())
        .install()
        .unwrap();
    assert!(installed.binary.is_file());
    assert_eq!(index.downloads(), 2);
}

#[test]
fn a_half_finished_install_is_not_used_and_is_replaced() {
    let wheel = custom_wheel(PINNED);
    let index = IndexServer::start(vec![wheel.clone()]);
    let store = tempfile::tempdir().unwrap();
    // What a crash can leave: a version folder without its marker, and a staging folder.
    let half = store.path().join(PINNED).join("codex_cli_bin").join("bin");
    std::fs::create_dir_all(&half).unwrap();
    std::fs::write(half.join("codex"), b"truncated").unwrap();
    std::fs::create_dir_all(store.path().join(format!(".staging-{PINNED}-1-2"))).unwrap();
    let installed = installer(&index, store.path())
        .expected_sha256(wheel.sha256())
        .install()
        .unwrap();
    assert!(installed.fresh);
    assert_eq!(index.downloads(), 1);
    assert_eq!(version_dirs(store.path()), vec![PINNED.to_string()]);
    assert!(std::fs::read_to_string(&installed.binary)
        .unwrap()
        .starts_with("#!/bin/sh"));
}

#[test]
fn two_installer_processes_at_once_download_once_and_agree() {
    let wheel = custom_wheel(PINNED);
    let index = IndexServer::start(vec![wheel.clone()]);
    let store = tempfile::tempdir().unwrap();
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_openai-codex"))
            .args(["install", "--quiet", "--dir"])
            .arg(store.path())
            .args(["--index-url", &index.url(), "--sha256", &wheel.sha256()])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    for out in [&a, &b] {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(a.stdout, b.stdout);
    let path = String::from_utf8(a.stdout).unwrap();
    assert!(Path::new(path.trim()).is_file(), "{path}");
    assert_eq!(
        index.downloads(),
        1,
        "the second installer waited and reused"
    );
    assert_eq!(version_dirs(store.path()), vec![PINNED.to_string()]);
}

#[test]
fn a_local_wheel_installs_without_an_index() {
    let wheel = custom_wheel(PINNED);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(&wheel.filename);
    std::fs::write(&file, &wheel.bytes).unwrap();
    let store = tempfile::tempdir().unwrap();
    let installed = Installer::new()
        .index_url("http://127.0.0.1:9/never-used")
        .wheel(&file)
        .expected_sha256(wheel.sha256())
        .store(store.path())
        .progress(false)
        .install()
        .unwrap();
    assert!(installed.binary.is_file());
    assert_eq!(installed.origin, file.display().to_string());
    // And a wrong digest for a local file is refused too.
    let other = tempfile::tempdir().unwrap();
    let err = Installer::new()
        .wheel(&file)
        .expected_sha256("1".repeat(64))
        .store(other.path())
        .progress(false)
        .install()
        .unwrap_err();
    assert!(
        matches!(err, InstallError::DigestMismatch { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_default_client_installs_the_pinned_runtime_when_none_is_found() {
    let wheel = custom_wheel(PINNED);
    let index = IndexServer::start(vec![wheel.clone()]);
    let store = tempfile::tempdir().unwrap();
    // An explicit store stands in for a fresh user's cache (and hides this repository's
    // project-pinned runtime).
    let config = CodexConfig::default()
        .runtime_dir(store.path())
        .package_index(index.url())
        .runtime_sha256(wheel.sha256());
    let codex = AsyncCodex::new(config.clone()).await.unwrap();
    let meta = codex.metadata().clone();
    codex.close().await;
    assert_eq!(meta.server_version, PINNED);
    assert_eq!(meta.binary_source, Some(BinarySource::Installed));
    assert_eq!(
        meta.binary.as_deref(),
        Some(
            store
                .path()
                .join(PINNED)
                .join("codex_cli_bin/bin/codex")
                .as_path()
        )
    );
    // The next client finds it in the store.
    let codex = AsyncCodex::new(config.clone()).await.unwrap();
    assert_eq!(codex.metadata().binary_source, Some(BinarySource::Cache));
    codex.close().await;
    assert_eq!(index.downloads(), 1);

    // With installing off and nothing installed, the error names the install command.
    let empty = tempfile::tempdir().unwrap();
    let off = CodexConfig::default()
        .runtime_dir(empty.path())
        .package_index(index.url())
        .install_runtime(false);
    if let Err(err) = AsyncCodex::new(off).await {
        let text = err.to_string();
        assert!(matches!(err, Error::RuntimeNotFound { .. }), "{err:?}");
        assert!(text.contains("openai-codex install"), "{text}");
    } else {
        // Only a machine with `codex` on PATH gets here; that binary then passed the gate.
        assert!(
            which_codex_on_path(),
            "a client started without any runtime"
        );
    }
    assert_eq!(index.downloads(), 1, "installing off means no download");
}

fn which_codex_on_path() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join("codex").is_file()))
}

/// One real install from the public index. Skipped, with the reason printed, when the index is
/// unreachable (offline machines, air-gapped CI).
#[test]
fn a_real_install_from_the_public_index() {
    let store = tempfile::tempdir().unwrap();
    match Installer::new()
        .index_url(openai_codex::runtime::DEFAULT_INDEX_URL)
        .store(store.path())
        .progress(false)
        .install()
    {
        Ok(installed) => {
            let output = Command::new(&installed.binary)
                .arg("--version")
                .output()
                .unwrap();
            assert!(String::from_utf8_lossy(&output.stdout).contains(PINNED));
            assert!(openai_codex::runtime::pinned_sha256(&installed.wheel).is_some());
        }
        Err(InstallError::Network { url, reason, .. }) => {
            eprintln!("skipped: the public package index is unreachable ({url}: {reason})");
        }
        Err(other) => panic!("real install failed: {other}"),
    }
}
