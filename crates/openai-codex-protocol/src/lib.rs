//! Temporary stand-in until the generated protocol lands (replaced by codegen).
#![allow(missing_docs)]
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

pub trait ClientRequest {
    const METHOD: &'static str;
    type Params: Serialize + DeserializeOwned + Send + 'static;
    type Response: Serialize + DeserializeOwned + Send + 'static;
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentMessageDeltaNotification {
    #[serde(rename = "threadId")]
    pub thread_id: String,
    #[serde(rename = "turnId")]
    pub turn_id: String,
    #[serde(rename = "itemId")]
    pub item_id: String,
    pub delta: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ServerNotification {
    ItemAgentMessageDelta(AgentMessageDeltaNotification),
    Unknown { method: String, params: Value },
}

impl ServerNotification {
    pub fn decode(method: &str, params: &RawValue) -> Result<Self, serde_json::Error> {
        Ok(match method {
            "item/agentMessage/delta" => {
                Self::ItemAgentMessageDelta(serde_json::from_str(params.get())?)
            }
            _ => Self::Unknown {
                method: method.to_string(),
                params: serde_json::from_str(params.get())?,
            },
        })
    }
    pub fn method(&self) -> &str {
        match self {
            Self::ItemAgentMessageDelta(_) => "item/agentMessage/delta",
            Self::Unknown { method, .. } => method,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ServerRequest {
    Unknown { method: String, params: Value },
}

impl ServerRequest {
    pub fn decode(method: &str, params: &RawValue) -> Result<Self, serde_json::Error> {
        Ok(Self::Unknown {
            method: method.to_string(),
            params: serde_json::from_str(params.get())?,
        })
    }
    pub fn method(&self) -> &str {
        match self {
            Self::Unknown { method, .. } => method,
        }
    }
}
