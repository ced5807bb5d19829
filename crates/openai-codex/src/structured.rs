//! Typed structured output: a JSON Schema generated from a Rust type (with `schemars`), made
//! acceptable to the model's strict structured-output mode, and the final answer parsed back into
//! that type ([`crate::AsyncThread::run_typed`], [`crate::AsyncTurnHandle::run_typed`]).
//!
//! Strict mode accepts a subset of JSON Schema. [`strict_schema`] turns what `schemars` generates
//! into that subset:
//!
//! * every object lists all of its properties in `required` and sets
//!   `additionalProperties: false` (an `Option` field stays nullable, so it may still be `null`);
//! * `oneOf` becomes `anyOf`, a one-member `allOf` is inlined;
//! * keywords strict mode rejects are removed (`default`, `$schema`, `minLength`, `uniqueItems`,
//!   the `format`s it does not know such as `uint32`, ...);
//! * what cannot be expressed is refused with a clear error instead of being sent: a root that is
//!   not an object, and maps with arbitrary keys (`HashMap<String, T>`).
//!
//! Enabled by the default cargo feature `typed`.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

pub use crate::error::StructuredOutputError;
use crate::error::{Error, Result};
use crate::turn::TurnResult;

/// The `format`s strict mode accepts; any other is dropped.
const SUPPORTED_FORMATS: &[&str] = &[
    "date-time",
    "time",
    "date",
    "duration",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "uuid",
];

/// The keywords strict mode accepts; any other is dropped.
const SUPPORTED_KEYWORDS: &[&str] = &[
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "const",
    "anyOf",
    "$ref",
    "$defs",
    "definitions",
    "description",
    "title",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
];

/// A typed turn result: the final answer parsed into `T`, and the whole [`TurnResult`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct TypedTurnResult<T> {
    /// The final answer, parsed.
    pub value: T,
    /// Everything else the turn produced (items, usage, the raw answer in `final_response`).
    pub turn: TurnResult,
}

/// The strict-mode JSON Schema of `T`, as sent by `run_typed`.
///
/// # Errors
/// [`Error::InvalidInput`] (field `output_schema`) when `T` cannot be expressed in strict mode:
/// its schema is not an object, or it holds a map with arbitrary keys.
///
/// # Examples
///
/// ```
/// use openai_codex::structured::strict_schema;
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct Answer {
///     city: String,
///     population: Option<u64>,
/// }
///
/// let schema = strict_schema::<Answer>().unwrap();
/// assert_eq!(schema["additionalProperties"], false);
/// assert_eq!(schema["required"], serde_json::json!(["city", "population"]));
/// ```
pub fn strict_schema<T: JsonSchema>() -> Result<Value> {
    let mut settings = schemars::generate::SchemaSettings::draft2020_12();
    // Inline what is not recursive: models follow a flat schema more reliably than `$ref`s.
    settings.inline_subschemas = true;
    settings.meta_schema = None;
    let schema = settings.into_generator().into_root_schema_for::<T>();
    make_strict(schema.to_value())
}

/// Turns any JSON Schema into the strict-mode subset (see the [module docs](self)).
///
/// # Errors
/// [`Error::InvalidInput`] (field `output_schema`) when the root is not an object schema, or an
/// object allows arbitrary extra keys with a schema of their own (a map).
///
/// # Examples
///
/// ```
/// use openai_codex::structured::make_strict;
/// use serde_json::json;
///
/// let strict = make_strict(json!({
///     "type": "object",
///     "properties": {"age": {"type": "integer", "format": "uint8"}, "name": {"type": "string", "minLength": 1}},
///     "required": ["name"]
/// })).unwrap();
/// assert_eq!(strict, json!({
///     "type": "object",
///     "properties": {"age": {"type": "integer"}, "name": {"type": "string"}},
///     "required": ["age", "name"],
///     "additionalProperties": false
/// }));
/// assert!(make_strict(json!({"type": "array", "items": {"type": "string"}})).is_err());
/// ```
pub fn make_strict(schema: Value) -> Result<Value> {
    let mut schema = schema;
    strictify(&mut schema, "#")?;
    let is_object = schema.get("type").and_then(Value::as_str) == Some("object");
    if !is_object {
        return Err(invalid(
            "#",
            "the root must be an object schema (a struct with named fields); wrap the value in \
             a struct",
        ));
    }
    Ok(schema)
}

fn invalid(path: &str, message: &str) -> Error {
    Error::InvalidInput {
        field: "output_schema",
        message: format!("not expressible in strict structured-output mode at {path}: {message}"),
    }
}

fn strictify(schema: &mut Value, path: &str) -> Result<()> {
    let Value::Object(map) = schema else {
        // `true`/`false` schemas: strict mode has no use for them, and schemars emits them only
        // for `serde_json::Value`-like fields.
        return Err(invalid(
            path,
            "an unconstrained value (e.g. serde_json::Value) has no strict schema; use a typed field",
        ));
    };
    if let Some(one_of) = map.remove("oneOf") {
        merge_any_of(map, one_of);
    }
    if let Some(all_of) = map.remove("allOf") {
        match all_of {
            Value::Array(mut members) if members.len() == 1 => {
                if let Value::Object(inner) = members.remove(0) {
                    for (key, value) in inner {
                        map.entry(key).or_insert(value);
                    }
                }
            }
            _ => {
                return Err(invalid(
                    path,
                    "`allOf` with several members is not supported; avoid #[serde(flatten)] of \
                     enums",
                ))
            }
        }
    }
    if let Some(Value::String(format)) = map.get("format") {
        if !SUPPORTED_FORMATS.contains(&format.as_str()) {
            map.remove("format");
        }
    }
    map.retain(|key, _| SUPPORTED_KEYWORDS.contains(&key.as_str()));

    let is_object = match map.get("type") {
        Some(Value::String(t)) => t == "object",
        Some(Value::Array(types)) => types.iter().any(|t| t == "object"),
        _ => map.contains_key("properties"),
    };
    if is_object {
        if let Some(extra) = map.get("additionalProperties") {
            // `true` beside named properties is only serde's default openness: closing it
            // loses nothing. A schema for the extra values means a map.
            let closed_or_open = extra == &Value::Bool(false)
                || extra.as_object().is_some_and(Map::is_empty)
                || (extra == &Value::Bool(true) && map.contains_key("properties"));
            if !closed_or_open {
                return Err(invalid(
                    path,
                    "a map with arbitrary keys (HashMap/BTreeMap) cannot be strict; use a \
                     struct, or a Vec of key/value structs",
                ));
            }
        }
        let keys: Vec<Value> = map
            .get("properties")
            .and_then(Value::as_object)
            .map(|p| p.keys().cloned().map(Value::String).collect())
            .unwrap_or_default();
        map.insert("required".into(), Value::Array(keys));
        map.insert("additionalProperties".into(), Value::Bool(false));
        if !map.contains_key("properties") {
            map.insert("properties".into(), Value::Object(Map::new()));
        }
    }

    if let Some(Value::Object(properties)) = map.get_mut("properties") {
        for (name, sub) in properties.iter_mut() {
            strictify(sub, &format!("{path}/properties/{name}"))?;
        }
    }
    for key in ["$defs", "definitions"] {
        if let Some(Value::Object(defs)) = map.get_mut(key) {
            for (name, sub) in defs.iter_mut() {
                strictify(sub, &format!("{path}/{key}/{name}"))?;
            }
        }
    }
    if let Some(items) = map.get_mut("items") {
        strictify(items, &format!("{path}/items"))?;
    }
    if let Some(Value::Array(members)) = map.get_mut("anyOf") {
        for (i, sub) in members.iter_mut().enumerate() {
            strictify(sub, &format!("{path}/anyOf/{i}"))?;
        }
    }
    Ok(())
}

/// Moves `oneOf` members into `anyOf` (keeping any `anyOf` already there).
fn merge_any_of(map: &mut Map<String, Value>, one_of: Value) {
    let Value::Array(members) = one_of else {
        return;
    };
    match map.get_mut("anyOf") {
        Some(Value::Array(existing)) => existing.extend(members),
        _ => {
            map.insert("anyOf".into(), Value::Array(members));
        }
    }
}

/// Parses a finished turn's final answer into `T`.
pub(crate) fn parse<T: DeserializeOwned>(turn: TurnResult) -> Result<TypedTurnResult<T>> {
    let type_name = std::any::type_name::<T>();
    let Some(raw) = turn.final_response.clone() else {
        return Err(Error::StructuredOutput(StructuredOutputError {
            type_name,
            raw: None,
            turn: Box::new(turn),
            source: None,
        }));
    };
    match serde_json::from_str::<T>(&raw) {
        Ok(value) => Ok(TypedTurnResult { value, turn }),
        Err(source) => Err(Error::StructuredOutput(StructuredOutputError {
            type_name,
            raw: Some(raw),
            turn: Box::new(turn),
            source: Some(source),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;
    use std::collections::HashMap;

    #[allow(dead_code)]
    #[derive(Debug, Deserialize, JsonSchema)]
    struct Inner {
        label: String,
        weight: f64,
    }

    #[allow(dead_code)]
    #[derive(Deserialize, JsonSchema)]
    enum Kind {
        Small,
        Large,
    }

    #[allow(dead_code)]
    #[derive(Deserialize, JsonSchema)]
    #[serde(tag = "type")]
    enum Shape {
        Circle { radius: f64 },
        Square { side: f64 },
    }

    /// A field of every common shape.
    #[allow(dead_code)]
    #[derive(Deserialize, JsonSchema)]
    struct Everything {
        /// A name.
        name: String,
        count: u32,
        maybe: Option<String>,
        #[serde(default)]
        defaulted: bool,
        tags: Vec<String>,
        inner: Inner,
        optional_inner: Option<Inner>,
        kind: Kind,
        shape: Shape,
        list: Vec<Inner>,
    }

    /// Walks every object schema and checks the strict-mode rules.
    fn assert_strict(schema: &Value, path: &str) {
        let Value::Object(map) = schema else {
            panic!("{path}: not an object schema: {schema}")
        };
        for key in map.keys() {
            assert!(
                SUPPORTED_KEYWORDS.contains(&key.as_str()),
                "{path}: unsupported keyword {key}"
            );
        }
        if let Some(Value::String(f)) = map.get("format") {
            assert!(
                SUPPORTED_FORMATS.contains(&f.as_str()),
                "{path}: format {f}"
            );
        }
        if let Some(Value::Object(properties)) = map.get("properties") {
            assert_eq!(map["additionalProperties"], false, "{path}");
            let mut required: Vec<&str> = map["required"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            required.sort_unstable();
            let mut keys: Vec<&str> = properties.keys().map(String::as_str).collect();
            keys.sort_unstable();
            assert_eq!(required, keys, "{path}: every property required");
            for (name, sub) in properties {
                assert_strict(sub, &format!("{path}.{name}"));
            }
        }
        if let Some(items) = map.get("items") {
            assert_strict(items, &format!("{path}[]"));
        }
        if let Some(Value::Array(members)) = map.get("anyOf") {
            for (i, sub) in members.iter().enumerate() {
                assert_strict(sub, &format!("{path}|{i}"));
            }
        }
        assert!(!map.contains_key("oneOf") && !map.contains_key("allOf"));
    }

    #[test]
    fn a_rich_struct_becomes_a_strict_schema() {
        let schema = strict_schema::<Everything>().unwrap();
        assert_strict(&schema, "#");
        assert_eq!(schema["type"], "object");
        assert!(schema.get("$schema").is_none());
        // Optional fields stay nullable although required.
        let maybe = &schema["properties"]["maybe"];
        assert!(
            maybe["type"] == json!(["string", "null"]) || maybe.get("anyOf").is_some(),
            "{maybe}"
        );
        // The unsigned integer keeps its minimum, loses its unsupported format.
        assert_eq!(schema["properties"]["count"]["type"], "integer");
        assert!(schema["properties"]["count"].get("format").is_none());
        // The doc comment is kept as the description.
        assert_eq!(schema["properties"]["name"]["description"], "A name.");
        // A JSON answer that satisfies the schema parses back.
        let answer = json!({
            "name": "n", "count": 3, "maybe": null, "defaulted": true, "tags": ["a"],
            "inner": {"label": "l", "weight": 1.5}, "optional_inner": null, "kind": "Large",
            "shape": {"type": "Circle", "radius": 2.0}, "list": []
        });
        let parsed: Everything = serde_json::from_value(answer).unwrap();
        assert_eq!(parsed.count, 3);
    }

    #[test]
    fn what_strict_mode_cannot_say_is_refused_with_the_fix() {
        #[allow(dead_code)]
        #[derive(JsonSchema)]
        struct WithMap {
            scores: HashMap<String, u32>,
        }
        let err = strict_schema::<WithMap>().unwrap_err().to_string();
        assert!(
            err.contains("output_schema") && err.contains("map"),
            "{err}"
        );
        assert!(err.contains("properties/scores"), "{err}");

        let err = strict_schema::<Vec<String>>().unwrap_err().to_string();
        assert!(err.contains("wrap the value in a struct"), "{err}");

        #[allow(dead_code)]
        #[derive(JsonSchema)]
        struct WithAny {
            anything: Value,
        }
        let err = strict_schema::<WithAny>().unwrap_err().to_string();
        assert!(err.contains("serde_json::Value"), "{err}");
    }

    #[test]
    fn strictness_is_idempotent_and_keeps_existing_strict_schemas() {
        let schema = strict_schema::<Everything>().unwrap();
        assert_eq!(make_strict(schema.clone()).unwrap(), schema);
    }

    fn turn(answer: Option<&str>) -> TurnResult {
        let items = answer
            .map(|text| {
                serde_json::from_value(json!([{"type": "agentMessage", "id": "m", "text": text,
                                               "phase": "final_answer"}]))
                .unwrap()
            })
            .unwrap_or_default();
        let turn: openai_codex_protocol::Turn =
            serde_json::from_value(json!({"id": "t1", "status": "completed", "items": []}))
                .unwrap();
        TurnResult::from_parts(turn, items, None)
    }

    #[test]
    fn a_bad_answer_keeps_the_raw_text_and_the_turn() {
        let err = parse::<Inner>(turn(Some("{\"label\": 3}"))).unwrap_err();
        let Error::StructuredOutput(e) = &err else {
            panic!("{err}")
        };
        assert_eq!(e.raw.as_deref(), Some("{\"label\": 3}"));
        assert_eq!(e.turn.id, "t1");
        assert!(e.source.is_some());
        let text = err.to_string();
        assert!(
            text.contains("Inner") && text.contains("{\"label\": 3}"),
            "{text}"
        );

        let err = parse::<Inner>(turn(None)).unwrap_err();
        assert!(err.to_string().contains("no final answer"), "{err}");
        let ok = parse::<Inner>(turn(Some(r#"{"label": "x", "weight": 2}"#))).unwrap();
        assert_eq!(ok.value.label, "x");
        assert_eq!(ok.turn.id, "t1");
    }
}
