//! `cargo xtask codegen --check` passes on the checked-in schema and fails on a changed one.
//! Runs against copies of the schema and the generated code, so the real tree is never touched.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), dest).unwrap();
        }
    }
}

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("xtask-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn codegen(args: &[&str], schema: &Path, out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("codegen")
        .args(args)
        .arg("--schema-dir")
        .arg(schema)
        .arg("--out-dir")
        .arg(out)
        .output()
        .expect("xtask runs")
}

#[test]
fn check_passes_then_fails_on_schema_drift() {
    let scratch = Scratch::new("codegen-check");
    let schema = scratch.0.join("schema");
    let generated = scratch.0.join("generated");
    let protocol = root().join("crates").join("openai-codex-protocol");
    copy_tree(&protocol.join("schema"), &schema);
    copy_tree(&protocol.join("src").join("generated"), &generated);

    let ok = codegen(&["--check"], &schema, &generated);
    assert!(
        ok.status.success(),
        "--check fails on the checked-in schema:\n{}",
        String::from_utf8_lossy(&ok.stderr)
    );

    // Change one definition as a newer runtime would: TurnStartParams gains a property, in the
    // stable bundle and in the experimental one (which is a superset of the stable surface).
    for bundle_path in [
        schema.join("codex_app_server_protocol.v2.schemas.json"),
        schema
            .join("experimental")
            .join("codex_app_server_protocol.v2.schemas.json"),
    ] {
        let mut bundle: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&bundle_path).unwrap()).unwrap();
        bundle["definitions"]["TurnStartParams"]["properties"]["moodRing"] =
            serde_json::json!({"type": ["string", "null"], "description": "Added by a test."});
        std::fs::write(&bundle_path, serde_json::to_string_pretty(&bundle).unwrap()).unwrap();
    }

    let drift = codegen(&["--check"], &schema, &generated);
    let stderr = String::from_utf8_lossy(&drift.stderr);
    assert!(!drift.status.success(), "--check passes despite drift");
    assert!(
        stderr.contains("types.rs differs"),
        "no file named:\n{stderr}"
    );
    assert!(
        stderr.contains("cargo xtask codegen"),
        "no fixing command:\n{stderr}"
    );

    // Regenerating fixes it, and the new field is there.
    let write = codegen(&[], &schema, &generated);
    assert!(
        write.status.success(),
        "{}",
        String::from_utf8_lossy(&write.stderr)
    );
    let types = std::fs::read_to_string(generated.join("types.rs")).unwrap();
    assert!(types.contains("pub mood_ring: Option<String>"));
    let ok = codegen(&["--check"], &schema, &generated);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

#[test]
fn unresolvable_response_type_fails_loudly() {
    let scratch = Scratch::new("codegen-response");
    let schema = scratch.0.join("schema");
    let protocol = root().join("crates").join("openai-codex-protocol");
    copy_tree(&protocol.join("schema"), &schema);

    let bundle_path = schema.join("codex_app_server_protocol.v2.schemas.json");
    let mut bundle: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&bundle_path).unwrap()).unwrap();
    bundle["definitions"]
        .as_object_mut()
        .unwrap()
        .remove("ThreadStartResponse");
    std::fs::write(&bundle_path, serde_json::to_string(&bundle).unwrap()).unwrap();

    let out = codegen(&["--check"], &schema, &scratch.0.join("generated"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("thread/start") && stderr.contains("no resolvable response type"),
        "{stderr}"
    );
}
