//! `openai-codex`: install the pinned Codex runtime, show which one the SDK would run, check it.

use std::path::PathBuf;
use std::process::ExitCode;

use openai_codex::config::PINNED_RUNTIME_VERSION;
use openai_codex::runtime::Installer;
use openai_codex::{AsyncCodex, CodexConfig};

const USAGE: &str = "\
usage: openai-codex <command> [options]

commands:
  install [VERSION]   install the Codex runtime (default: the pinned version) into the per-user
                      store, or the one named by --dir / OPENAI_CODEX_RUNTIME_DIR; prints its path
      --dir DIR           runtime store to install into
      --index-url URL     package index (simple API root; default OPENAI_CODEX_INDEX_URL or PyPI)
      --wheel FILE        install this local wheel instead of downloading
      --sha256 HEX        the digest the wheel must have (for wheels that are not pinned)
      --quiet             no progress bar
  where               which runtime `AsyncCodex::new(CodexConfig::default())` would run, and why
  check               start that runtime, run the handshake and the version gate, report
  --version           this tool's (the SDK's) version and the pinned runtime version
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("install") => install(&args[1..]),
        Some("where") => where_(),
        Some("check") => check(),
        Some("--version" | "-V") => {
            println!(
                "openai-codex {} (runtime {PINNED_RUNTIME_VERSION})",
                openai_codex::VERSION
            );
            Ok(())
        }
        Some("-h" | "--help" | "help") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command `{other}`\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn install(args: &[String]) -> Result<(), String> {
    let mut installer = Installer::new();
    let mut args = args.iter();
    let value = |flag: &str, v: Option<&String>| {
        v.cloned()
            .ok_or_else(|| format!("{flag} needs a value\n\n{USAGE}"))
    };
    while let Some(arg) = args.next() {
        installer = match arg.as_str() {
            "--dir" => installer.store(PathBuf::from(value(arg, args.next())?)),
            "--index-url" => installer.index_url(value(arg, args.next())?),
            "--wheel" => installer.wheel(PathBuf::from(value(arg, args.next())?)),
            "--sha256" => installer.expected_sha256(value(arg, args.next())?),
            "--quiet" => installer.progress(false),
            flag if flag.starts_with('-') => {
                return Err(format!("unknown option `{flag}`\n\n{USAGE}"))
            }
            version => installer.version(version),
        };
    }
    let installed = installer.install().map_err(|e| e.to_string())?;
    eprintln!(
        "codex runtime {} {} ({})",
        installed.version,
        if installed.fresh {
            "installed"
        } else {
            "already installed"
        },
        installed.dir.display()
    );
    println!("{}", installed.binary.display());
    Ok(())
}

fn where_() -> Result<(), String> {
    let config = CodexConfig::default();
    match config.resolve_binary() {
        Ok(found) => {
            println!("{}", found.path.display());
            eprintln!("how: {}", found.source.describe());
            for dir in &found.path_prepend {
                eprintln!("first on its PATH: {}", dir.display());
            }
            Ok(())
        }
        Err(not_found) if config.installs_runtime() => {
            let installer = Installer::from_config(&config);
            let store = installer.target_store().map_err(|e| e.to_string())?;
            println!(
                "{}",
                openai_codex::runtime::binary_in(&store.join(PINNED_RUNTIME_VERSION)).display()
            );
            eprintln!(
                "how: not installed yet; AsyncCodex::new would install runtime \
                 {PINNED_RUNTIME_VERSION} from the {} into {} ({not_found})",
                installer.source_description(),
                store.display()
            );
            Ok(())
        }
        Err(error) => Err(error.to_string()),
    }
}

fn check() -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a tokio runtime: {e}"))?;
    runtime.block_on(async {
        let codex = AsyncCodex::new(CodexConfig::default())
            .await
            .map_err(|e| e.to_string())?;
        let meta = codex.metadata().clone();
        codex.close().await;
        println!(
            "ok: codex {} at {} ({}); the SDK is built for {PINNED_RUNTIME_VERSION}",
            meta.server_version,
            meta.binary
                .as_deref()
                .map_or_else(|| "?".into(), |p| p.display().to_string()),
            meta.binary_source.map_or("?", |s| s.describe()),
        );
        Ok(())
    })
}
