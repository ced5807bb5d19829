//! Turns (placeholder until the async core lands).

/// Placeholder turn error.
#[derive(Clone, Debug)]
pub struct TurnErrorInfo {
    /// Message.
    pub message: String,
    /// Error info.
    pub codex_error_info: Option<serde_json::Value>,
}

/// Placeholder result.
#[derive(Clone, Debug)]
pub struct TurnResult {
    /// Turn id.
    pub id: String,
    /// Error.
    pub error: Option<TurnErrorInfo>,
}
