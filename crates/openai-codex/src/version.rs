//! The version gate: after `initialize`, the runtime's version must fit the policy.

use crate::config::{BinarySource, PINNED_RUNTIME_VERSION};
use crate::error::{Error, Result};

/// Which runtime versions a client accepts, compared with [`PINNED_RUNTIME_VERSION`] (the version
/// the SDK's types are generated from and its tests run against).
///
/// The default is [`VersionPolicy::SameMinor`]: the runtime's 0.x minor releases change the
/// protocol (new and renamed fields and methods), its patch releases fix bugs without touching it.
/// `Exact` would refuse those fixes; `Any` would let a runtime whose messages the generated types
/// may not decode start without a word.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum VersionPolicy {
    /// Only exactly the pinned version.
    Exact,
    /// The pinned major and minor, any patch (`0.163.x`).
    #[default]
    SameMinor,
    /// Any version (no check).
    Any,
}

impl VersionPolicy {
    /// Whether `runtime` is acceptable against `pinned` under this policy.
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::config::VersionPolicy;
    ///
    /// assert!(VersionPolicy::SameMinor.accepts("0.163.4", "0.163.0"));
    /// assert!(!VersionPolicy::SameMinor.accepts("0.164.0", "0.163.0"));
    /// assert!(!VersionPolicy::Exact.accepts("0.163.4", "0.163.0"));
    /// assert!(VersionPolicy::Any.accepts("whatever", "0.163.0"));
    /// ```
    pub fn accepts(self, runtime: &str, pinned: &str) -> bool {
        match self {
            VersionPolicy::Any => true,
            VersionPolicy::Exact => runtime.trim() == pinned,
            VersionPolicy::SameMinor => match (major_minor(runtime), major_minor(pinned)) {
                (Some(a), Some(b)) => a == b,
                _ => false,
            },
        }
    }

    fn describe(self) -> &'static str {
        match self {
            VersionPolicy::Exact => "exact",
            VersionPolicy::SameMinor => "same minor",
            VersionPolicy::Any => "any",
        }
    }
}

fn major_minor(version: &str) -> Option<(u64, u64)> {
    let mut parts = version.trim().split(['.', '-', '+']);
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// Checks the runtime's reported version against the policy.
pub(crate) fn check(
    policy: VersionPolicy,
    runtime_version: &str,
    binary: Option<&std::path::Path>,
    source: Option<BinarySource>,
) -> Result<()> {
    match mismatch(policy, runtime_version, binary, source) {
        Some(refusal) => Err(refusal.to_error()),
        None => Ok(()),
    }
}

/// Checks the version of a runtime reached at `endpoint` (at connect and after every
/// reconnect): the SDK did not choose that runtime, so the fix is about the endpoint.
pub(crate) fn check_endpoint(
    policy: VersionPolicy,
    runtime_version: &str,
    endpoint: &str,
) -> std::result::Result<(), Mismatch> {
    if policy.accepts(runtime_version, PINNED_RUNTIME_VERSION) {
        return Ok(());
    }
    Err(Mismatch {
        runtime: runtime_version.to_string(),
        policy: policy.describe(),
        binary: format!("the runtime at {endpoint}"),
        fix: format!(
            "run the pinned runtime behind {endpoint} (`codex app-server` {PINNED_RUNTIME_VERSION});              or accept it with CodexConfig::version_policy(VersionPolicy::Any) (untested: the              SDK's types are generated for {PINNED_RUNTIME_VERSION})"
        ),
    })
}

/// A refused runtime version, kept so the same typed error can be given to every caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Mismatch {
    runtime: String,
    policy: &'static str,
    binary: String,
    fix: String,
}

impl Mismatch {
    pub(crate) fn to_error(&self) -> Error {
        Error::RuntimeVersionMismatch {
            runtime: self.runtime.clone(),
            expected: PINNED_RUNTIME_VERSION.to_string(),
            policy: self.policy,
            binary: self.binary.clone(),
            fix: self.fix.clone(),
        }
    }
}

fn mismatch(
    policy: VersionPolicy,
    runtime_version: &str,
    binary: Option<&std::path::Path>,
    source: Option<BinarySource>,
) -> Option<Mismatch> {
    if policy.accepts(runtime_version, PINNED_RUNTIME_VERSION) {
        return None;
    }
    let binary = match (binary, source) {
        (Some(path), Some(source)) => format!("{} ({})", path.display(), source.describe()),
        (Some(path), None) => path.display().to_string(),
        (None, Some(source)) => source.describe().to_string(),
        (None, None) => "a custom transport".to_string(),
    };
    let fix = match source {
        Some(BinarySource::Path) => {
            "let the SDK use the pinned runtime (leave CodexConfig::install_runtime on, or run \
             `openai-codex install`), or put a matching codex first on PATH"
        }
        Some(BinarySource::Config) => "point CodexConfig::codex_bin at a matching codex",
        Some(BinarySource::EnvVar) => "point CODEX_BIN at a matching codex, or unset it",
        _ => "install the pinned runtime with `openai-codex install`",
    };
    Some(Mismatch {
        runtime: runtime_version.to_string(),
        policy: policy.describe(),
        binary,
        fix: format!(
            "{fix}; or accept it with CodexConfig::version_policy(VersionPolicy::Any) (untested: \
             the SDK's types are generated for {PINNED_RUNTIME_VERSION})"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn same_minor_is_the_default_and_reads_pre_releases() {
        assert_eq!(VersionPolicy::default(), VersionPolicy::SameMinor);
        assert!(VersionPolicy::SameMinor.accepts("0.163.0-alpha.2", "0.163.0"));
        assert!(!VersionPolicy::SameMinor.accepts("1.163.0", "0.163.0"));
        assert!(!VersionPolicy::SameMinor.accepts("garbage", "0.163.0"));
    }

    #[test]
    fn mismatch_names_both_versions_the_binary_and_the_fix() {
        let err = check(
            VersionPolicy::SameMinor,
            "0.150.2",
            Some(Path::new("/usr/local/bin/codex")),
            Some(BinarySource::Path),
        )
        .unwrap_err();
        let text = err.to_string();
        for needle in [
            "0.150.2",
            PINNED_RUNTIME_VERSION,
            "/usr/local/bin/codex",
            "found on PATH",
            "same minor",
            "openai-codex install",
            "VersionPolicy::Any",
        ] {
            assert!(text.contains(needle), "{needle} missing from: {text}");
        }
    }
}
