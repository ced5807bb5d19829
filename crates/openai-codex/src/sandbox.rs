//! `Sandbox` and `ApprovalMode` presets, and how each is sent.

use openai_codex_protocol as proto;

/// Filesystem sandbox presets.
///
/// Thread lifecycle calls (`thread_start`, `thread_resume`, `thread_fork`) send the mode string
/// (`read-only`, `workspace-write`, `danger-full-access`); turns send the policy object. As in the
/// official SDK, a turn-level preset carries explicit defaults (`networkAccess: false`, no extra
/// writable roots), so it overrides network access configured in `config.toml`, while the thread
/// preset honours it. A sandbox given to a turn applies to that turn and later turns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sandbox {
    /// Read files; no writes.
    ReadOnly,
    /// Read files; write inside the workspace (and configured writable roots).
    WorkspaceWrite,
    /// No filesystem restrictions.
    FullAccess,
}

impl Sandbox {
    /// The mode string sent by thread lifecycle calls.
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::Sandbox;
    /// use openai_codex::types::SandboxMode;
    ///
    /// assert_eq!(Sandbox::WorkspaceWrite.mode(), SandboxMode::WorkspaceWrite);
    /// ```
    pub fn mode(self) -> proto::SandboxMode {
        match self {
            Sandbox::ReadOnly => proto::SandboxMode::ReadOnly,
            Sandbox::WorkspaceWrite => proto::SandboxMode::WorkspaceWrite,
            Sandbox::FullAccess => proto::SandboxMode::DangerFullAccess,
        }
    }

    /// The policy object sent by turns.
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::Sandbox;
    ///
    /// let policy = serde_json::to_value(Sandbox::ReadOnly.policy()).unwrap();
    /// assert_eq!(policy, serde_json::json!({"type": "readOnly", "networkAccess": false}));
    /// ```
    pub fn policy(self) -> proto::SandboxPolicy {
        match self {
            Sandbox::ReadOnly => proto::SandboxPolicy::ReadOnly(proto::ReadOnlySandboxPolicy {
                network_access: Some(false),
                extra: Default::default(),
            }),
            Sandbox::WorkspaceWrite => {
                proto::SandboxPolicy::WorkspaceWrite(proto::WorkspaceWriteSandboxPolicy {
                    exclude_slash_tmp: Some(false),
                    exclude_tmpdir_env_var: Some(false),
                    network_access: Some(false),
                    writable_roots: Some(Vec::new()),
                    extra: Default::default(),
                })
            }
            Sandbox::FullAccess => {
                proto::SandboxPolicy::DangerFullAccess(proto::DangerFullAccessSandboxPolicy {
                    extra: Default::default(),
                })
            }
        }
    }
}

/// Who approves what the agent wants to do beyond its sandbox.
///
/// `thread_start` defaults to [`ApprovalMode::AutoReview`]; resume, fork and turns default to
/// "keep what the thread has".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ApprovalMode {
    /// The runtime's automatic reviewer decides escalations (`approvalPolicy: on-request`,
    /// `approvalsReviewer: auto_review`). It calls the model for a verdict; the client sees no
    /// approval request.
    #[default]
    AutoReview,
    /// Escalations are refused without asking (`approvalPolicy: never`); ordinary sandboxed
    /// commands still run.
    DenyAll,
    /// The client's own handler decides: escalations and out-of-sandbox writes are sent to it as
    /// approval requests (`approvalPolicy: on-request`, `approvalsReviewer: user`). Install a
    /// handler with [`crate::AsyncCodex::set_handler`]; the default one declines every request,
    /// so without one this behaves like [`ApprovalMode::DenyAll`] except that the refused
    /// command shows up as a `declined` item.
    Manual,
}

impl ApprovalMode {
    /// The `approvalPolicy` and `approvalsReviewer` this mode sends.
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::ApprovalMode;
    /// use openai_codex::types::AskForApproval;
    ///
    /// let (policy, reviewer) = ApprovalMode::DenyAll.wire();
    /// assert_eq!(policy, AskForApproval::Never);
    /// assert!(reviewer.is_none());
    /// ```
    pub fn wire(self) -> (proto::AskForApproval, Option<proto::ApprovalsReviewer>) {
        match self {
            ApprovalMode::AutoReview => (
                proto::AskForApproval::OnRequest,
                Some(proto::ApprovalsReviewer::AutoReview),
            ),
            ApprovalMode::DenyAll => (proto::AskForApproval::Never, None),
            ApprovalMode::Manual => (
                proto::AskForApproval::OnRequest,
                Some(proto::ApprovalsReviewer::User),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn presets_have_two_encodings() {
        let mode = |s: Sandbox| serde_json::to_value(s.mode()).unwrap();
        let policy = |s: Sandbox| serde_json::to_value(s.policy()).unwrap();
        assert_eq!(mode(Sandbox::ReadOnly), json!("read-only"));
        assert_eq!(mode(Sandbox::WorkspaceWrite), json!("workspace-write"));
        assert_eq!(mode(Sandbox::FullAccess), json!("danger-full-access"));
        assert_eq!(
            policy(Sandbox::ReadOnly),
            json!({"type": "readOnly", "networkAccess": false})
        );
        assert_eq!(
            policy(Sandbox::WorkspaceWrite),
            json!({"type": "workspaceWrite", "networkAccess": false, "writableRoots": [],
                   "excludeSlashTmp": false, "excludeTmpdirEnvVar": false})
        );
        assert_eq!(
            policy(Sandbox::FullAccess),
            json!({"type": "dangerFullAccess"})
        );
    }

    #[test]
    fn approval_modes_map_to_policy_and_reviewer() {
        let (policy, reviewer) = ApprovalMode::AutoReview.wire();
        assert_eq!(serde_json::to_value(policy).unwrap(), json!("on-request"));
        assert_eq!(
            serde_json::to_value(reviewer).unwrap(),
            json!("auto_review")
        );
        let (policy, reviewer) = ApprovalMode::DenyAll.wire();
        assert_eq!(serde_json::to_value(policy).unwrap(), json!("never"));
        assert!(reviewer.is_none());
        let (policy, reviewer) = ApprovalMode::Manual.wire();
        assert_eq!(serde_json::to_value(policy).unwrap(), json!("on-request"));
        assert_eq!(serde_json::to_value(reviewer).unwrap(), json!("user"));
    }
}
