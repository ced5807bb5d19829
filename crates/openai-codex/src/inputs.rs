//! Turn inputs: text, images, skills, mentions, and external tool messages.
//!
//! Anything that converts into [`RunInput`] can start a turn: `&str`, `String`, one input item,
//! a `Vec` of items, an [`Input`], or an [`ExternalMessage`]. A plain string is shorthand for one
//! [`TextInput`].

use std::path::PathBuf;

use openai_codex_protocol as proto;

use crate::error::{Error, Result};

/// Plain text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextInput {
    /// The text.
    pub text: String,
}

/// An image by URL (`https://...` or a `data:` URL).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageInput {
    /// The image URL.
    pub url: String,
}

/// An image file, read by the runtime (which runs on the same machine as the SDK).
///
/// The SDK checks that the file exists and is readable before anything is sent. A relative path
/// resolves against the program's working directory (as `std::fs` does) and is sent as an
/// absolute path, so the runtime reads the very file that was checked whatever its own working
/// directory or the thread's `cwd` is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalImageInput {
    /// The file path.
    pub path: PathBuf,
}

/// A skill to invoke, by name and path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkillInput {
    /// The skill's name.
    pub name: String,
    /// The skill's path.
    pub path: String,
}

/// A mention of a file or resource, by name and path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MentionInput {
    /// The display name.
    pub name: String,
    /// The path.
    pub path: String,
}

macro_rules! constructors {
    ($($ty:ident { $($field:ident : $arg:ty),* }),*) => {$(
        impl $ty {
            /// Builds the input.
            ///
            /// # Examples
            ///
            /// ```
            /// use openai_codex::{ImageInput, InputItem, LocalImageInput, MentionInput, SkillInput, TextInput};
            ///
            /// let input: Vec<InputItem> = vec![
            ///     TextInput::new("What is in these pictures?").into(),
            ///     ImageInput::new("https://example.com/cat.png").into(),
            ///     LocalImageInput::new("screenshots/dog.png").into(),
            ///     SkillInput::new("review", "/skills/review/SKILL.md").into(),
            ///     MentionInput::new("main.rs", "src/main.rs").into(),
            /// ];
            /// ```
            pub fn new($($field: impl Into<$arg>),*) -> Self {
                Self { $($field: $field.into()),* }
            }
        }
    )*};
}
constructors!(
    TextInput { text: String },
    ImageInput { url: String },
    LocalImageInput { path: PathBuf },
    SkillInput {
        name: String,
        path: String
    },
    MentionInput {
        name: String,
        path: String
    }
);

/// One input item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputItem {
    /// Text.
    Text(TextInput),
    /// An image URL.
    Image(ImageInput),
    /// A local image file.
    LocalImage(LocalImageInput),
    /// A skill.
    Skill(SkillInput),
    /// A mention.
    Mention(MentionInput),
}

/// One or more input items.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Input(pub Vec<InputItem>);

/// What a turn can start from: input items, or an external tool message.
#[derive(Clone, Debug, PartialEq)]
pub enum RunInput {
    /// Input items.
    Items(Input),
    /// A message from an external tool (sent as `toolOutput`, with empty `input`).
    External(ExternalMessage),
}

/// The content of an [`ExternalMessage`].
#[derive(Clone, Debug, PartialEq)]
pub enum ExternalContent {
    /// Plain text.
    Text(String),
    /// Structured Responses-style content items.
    Items(Vec<proto::FunctionCallOutputContentItem>),
}

/// A message from an external tool or system (a CI bot, a webhook, ...), delivered to the model
/// as a tool output with tool-level authority: below user and developer instructions, and
/// granting no approval. On an idle thread it starts a turn; on a busy one it joins the turn.
#[derive(Clone, Debug, PartialEq)]
pub struct ExternalMessage {
    /// The tool's name; must not be blank.
    pub tool_name: String,
    /// What the tool says.
    pub content: ExternalContent,
    /// An optional namespace of the tool.
    pub namespace: Option<String>,
}

impl ExternalMessage {
    /// A text message from `tool_name`.
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::ExternalMessage;
    ///
    /// let message = ExternalMessage::text("ci_bot", "The build on main is red.").namespace("ci");
    /// // thread.run(message, TurnOptions::default()).await?;
    /// ```
    pub fn text(tool_name: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            tool_name: tool_name.into(),
            content: ExternalContent::Text(text.into()),
            namespace: None,
        }
    }

    /// A structured message from `tool_name`.
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::ExternalMessage;
    /// use openai_codex::types::FunctionCallOutputContentItem;
    ///
    /// let items: Vec<FunctionCallOutputContentItem> =
    ///     serde_json::from_value(serde_json::json!([{"type": "input_text", "text": "3 tests failed"}])).unwrap();
    /// let message = ExternalMessage::items("ci_bot", items);
    /// ```
    pub fn items(
        tool_name: impl Into<String>,
        items: Vec<proto::FunctionCallOutputContentItem>,
    ) -> Self {
        Self {
            tool_name: tool_name.into(),
            content: ExternalContent::Items(items),
            namespace: None,
        }
    }

    /// Sets the namespace.
    ///
    /// # Examples
    ///
    /// ```
    /// use openai_codex::ExternalMessage;
    ///
    /// let message = ExternalMessage::text("deploy", "Rolled back v42.").namespace("ops");
    /// assert_eq!(message.namespace.as_deref(), Some("ops"));
    /// ```
    #[must_use]
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    pub(crate) fn to_wire(&self) -> Result<proto::TurnToolOutput> {
        if self.tool_name.trim().is_empty() {
            return Err(Error::InvalidInput {
                field: "tool_name",
                message:
                    "ExternalMessage::tool_name must not be blank; name the tool that sends it"
                        .into(),
            });
        }
        let output = match &self.content {
            ExternalContent::Text(text) => proto::FunctionCallOutputBody::String(text.clone()),
            ExternalContent::Items(items) => {
                proto::FunctionCallOutputBody::FunctionCallOutputContentItemList(items.clone())
            }
        };
        Ok(proto::TurnToolOutput {
            name: self.tool_name.clone(),
            namespace: self.namespace.clone(),
            output,
            retain: None,
            extra: Default::default(),
        })
    }
}

impl From<&str> for Input {
    fn from(text: &str) -> Self {
        Input(vec![InputItem::Text(TextInput::new(text))])
    }
}
impl From<String> for Input {
    fn from(text: String) -> Self {
        Input(vec![InputItem::Text(TextInput { text })])
    }
}
impl From<&String> for Input {
    fn from(text: &String) -> Self {
        Input::from(text.as_str())
    }
}
impl From<InputItem> for Input {
    fn from(item: InputItem) -> Self {
        Input(vec![item])
    }
}
impl From<Vec<InputItem>> for Input {
    fn from(items: Vec<InputItem>) -> Self {
        Input(items)
    }
}
impl<const N: usize> From<[InputItem; N]> for Input {
    fn from(items: [InputItem; N]) -> Self {
        Input(items.into())
    }
}

macro_rules! item_conversions {
    ($($ty:ident => $variant:ident),*) => {$(
        impl From<$ty> for InputItem {
            fn from(input: $ty) -> Self {
                InputItem::$variant(input)
            }
        }
        impl From<$ty> for Input {
            fn from(input: $ty) -> Self {
                Input(vec![InputItem::$variant(input)])
            }
        }
    )*};
}
item_conversions!(
    TextInput => Text,
    ImageInput => Image,
    LocalImageInput => LocalImage,
    SkillInput => Skill,
    MentionInput => Mention
);

impl<T: Into<Input>> From<T> for RunInput {
    fn from(input: T) -> Self {
        RunInput::Items(input.into())
    }
}

impl From<ExternalMessage> for RunInput {
    fn from(message: ExternalMessage) -> Self {
        RunInput::External(message)
    }
}

impl Input {
    /// Converts to the wire form, checking local files first.
    pub(crate) fn to_wire(&self) -> Result<Vec<proto::UserInput>> {
        self.0.iter().map(InputItem::to_wire).collect()
    }
}

impl InputItem {
    fn to_wire(&self) -> Result<proto::UserInput> {
        Ok(match self {
            InputItem::Text(t) => proto::UserInput::Text(proto::TextUserInput {
                text: t.text.clone(),
                text_elements: None,
                extra: Default::default(),
            }),
            InputItem::Image(i) => proto::UserInput::Image(proto::ImageUserInput {
                detail: None,
                variant: proto::ImageUserInputVariant::Url(i.url.clone()),
            }),
            InputItem::LocalImage(l) => {
                check_readable(&l.path)?;
                // The runtime would resolve a relative path against its own working directory,
                // not the program's; send the path the check above used.
                let path = std::path::absolute(&l.path).map_err(|error| Error::InvalidInput {
                    field: "LocalImageInput::path",
                    message: format!(
                        "cannot make {} absolute: {error}; pass an absolute path",
                        l.path.display()
                    ),
                })?;
                proto::UserInput::LocalImage(proto::LocalImageUserInput {
                    detail: None,
                    path: path.to_string_lossy().into_owned(),
                    extra: Default::default(),
                })
            }
            InputItem::Skill(s) => proto::UserInput::Skill(proto::SkillUserInput {
                name: s.name.clone(),
                path: s.path.clone(),
                extra: Default::default(),
            }),
            InputItem::Mention(m) => proto::UserInput::Mention(proto::MentionUserInput {
                name: m.name.clone(),
                path: m.path.clone(),
                extra: Default::default(),
            }),
        })
    }
}

fn check_readable(path: &std::path::Path) -> Result<()> {
    match std::fs::File::open(path) {
        Ok(file) => match file.metadata() {
            Ok(meta) if meta.is_file() => Ok(()),
            _ => Err(Error::InvalidInput {
                field: "LocalImageInput::path",
                message: format!(
                    "{} is not a regular file; pass an image file",
                    path.display()
                ),
            }),
        },
        Err(error) => Err(Error::InvalidInput {
            field: "LocalImageInput::path",
            message: format!(
                "cannot read {}: {error}; check the path (relative paths resolve against the \
                 program's working directory) and its permissions",
                path.display()
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn wire(input: impl Into<Input>) -> serde_json::Value {
        serde_json::to_value(input.into().to_wire().unwrap()).unwrap()
    }

    #[test]
    fn inputs_serialize_like_the_official_sdk() {
        assert_eq!(wire("hi"), json!([{"type": "text", "text": "hi"}]));
        assert_eq!(
            wire(ImageInput::new("https://x/y.png")),
            json!([{"type": "image", "url": "https://x/y.png"}])
        );
        assert_eq!(
            wire(vec![
                SkillInput::new("s", "/p").into(),
                MentionInput::new("m", "/q").into()
            ]),
            json!([{"type": "skill", "name": "s", "path": "/p"}, {"type": "mention", "name": "m", "path": "/q"}])
        );
    }

    #[test]
    fn a_missing_local_image_is_rejected_before_sending() {
        let err = Input::from(LocalImageInput::new("/nonexistent/cat.png"))
            .to_wire()
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("LocalImageInput::path") && text.contains("/nonexistent/cat.png"),
            "{text}"
        );
    }

    #[test]
    fn a_relative_local_image_is_sent_as_the_absolute_path_that_was_checked() {
        // Tests run in the package folder, which holds Cargo.toml.
        let sent = wire(LocalImageInput::new("Cargo.toml"));
        let expected = std::env::current_dir().unwrap().join("Cargo.toml");
        assert_eq!(sent[0]["type"], "localImage");
        assert_eq!(sent[0]["path"], expected.to_string_lossy().as_ref());
    }

    #[test]
    fn external_messages_need_a_tool_name() {
        assert!(ExternalMessage::text("  ", "x").to_wire().is_err());
        let wire = serde_json::to_value(
            ExternalMessage::text("ci_bot", "red")
                .namespace("ci")
                .to_wire()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(
            wire,
            json!({"name": "ci_bot", "namespace": "ci", "output": "red"})
        );
    }
}
