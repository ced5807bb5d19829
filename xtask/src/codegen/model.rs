//! Schema → intermediate model: one [`Item`] per Rust type to emit.
//!
//! The conversion is deliberately strict: any schema shape it does not understand is an error
//! naming the definition, so a new runtime cannot silently degrade a type to `serde_json::Value`.

use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

use super::names::{pascal, snake_ident};

/// The definitions that describe whole method families; they become method tables, not types.
pub(crate) const METHOD_UNIONS: &[&str] = &[
    "ClientRequest",
    "ClientNotification",
    "ServerNotification",
    "ServerRequest",
];

/// A Rust type expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Ty {
    Unit,
    Bool,
    Str,
    Int(&'static str),
    F64,
    Value,
    Named(String),
    Vec(Box<Ty>),
    Map(Box<Ty>),
    Opt(Box<Ty>),
    Boxed(Box<Ty>),
}

impl Ty {
    pub(crate) fn rust(&self) -> String {
        match self {
            Ty::Unit => "()".into(),
            Ty::Bool => "bool".into(),
            Ty::Str => "String".into(),
            Ty::Int(t) => (*t).into(),
            Ty::F64 => "f64".into(),
            Ty::Value => "serde_json::Value".into(),
            Ty::Named(n) => n.clone(),
            Ty::Vec(t) => format!("Vec<{}>", t.rust()),
            Ty::Map(t) => format!("std::collections::BTreeMap<String, {}>", t.rust()),
            Ty::Opt(t) => format!("Option<{}>", t.rust()),
            Ty::Boxed(t) => format!("Box<{}>", t.rust()),
        }
    }

    /// Wraps in `Option` unless the type already admits `null`.
    fn nullable(self) -> Ty {
        match self {
            Ty::Opt(_) | Ty::Value | Ty::Unit => self,
            other => Ty::Opt(Box::new(other)),
        }
    }

    /// A variant name describing this type, for untagged unions.
    fn variant_name(&self) -> String {
        match self {
            Ty::Unit => "Null".into(),
            Ty::Bool => "Boolean".into(),
            Ty::Str => "String".into(),
            Ty::Int(_) => "Integer".into(),
            Ty::F64 => "Number".into(),
            Ty::Value => "Value".into(),
            Ty::Named(n) => n.clone(),
            Ty::Vec(t) => format!("{}List", t.variant_name()),
            Ty::Map(t) => format!("{}Map", t.variant_name()),
            Ty::Opt(t) | Ty::Boxed(t) => t.variant_name(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FieldKind {
    /// Required and not nullable: `T`.
    Required,
    /// Required but nullable: `Option<T>`, `None` serializes as `null`.
    Nullable,
    /// Not required: `Option<T>`, `None` is omitted.
    Optional,
    /// `#[serde(flatten)]`.
    Flatten,
}

#[derive(Debug, Clone)]
pub(crate) struct Field {
    pub wire: String,
    pub ident: String,
    pub doc: String,
    pub ty: Ty,
    pub kind: FieldKind,
}

#[derive(Debug, Clone)]
pub(crate) struct Variant {
    /// Wire value (string enums, tags, external keys); empty for untagged variants.
    pub wire: String,
    pub ident: String,
    pub doc: String,
    pub payload: Option<Ty>,
}

#[derive(Debug, Clone)]
pub(crate) enum Shape {
    Alias(Ty),
    Struct(Vec<Field>),
    StrEnum(Vec<Variant>),
    Tagged { tag: String, variants: Vec<Variant> },
    External(Vec<Variant>),
    Untagged(Vec<Variant>),
}

#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub name: String,
    pub doc: String,
    pub shape: Shape,
}

/// The merged definitions of the bundle: the v2 file plus the top-level-only ones.
pub(crate) fn load_definitions(
    schema_dir: &std::path::Path,
) -> Result<BTreeMap<String, Value>, String> {
    let read = |file: &str| -> Result<Value, String> {
        let path = schema_dir.join(file);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| format!("cannot parse {}: {e}", path.display()))
    };
    let v2 = read("codex_app_server_protocol.v2.schemas.json")?;
    let top = read("codex_app_server_protocol.schemas.json")?;
    let mut defs = BTreeMap::new();
    for (name, schema) in definitions_of(&v2)? {
        defs.insert(name.clone(), normalize(schema));
    }
    for (name, schema) in definitions_of(&top)? {
        if name == "v2" {
            continue;
        }
        let schema = normalize(schema);
        match defs.get(name) {
            Some(existing) if existing != &schema => {
                return Err(format!(
                    "definition `{name}` differs between the v2 and the top-level bundle"
                ))
            }
            Some(_) => {}
            None => {
                defs.insert(name.clone(), schema);
            }
        }
    }
    Ok(defs)
}

fn definitions_of(bundle: &Value) -> Result<&Map<String, Value>, String> {
    bundle
        .get("definitions")
        .and_then(Value::as_object)
        .ok_or_else(|| "schema bundle has no `definitions` object".to_string())
}

/// Drops the keys that only describe the file (`$schema`, top-level `title`) and rewrites
/// `#/definitions/v2/X` references to `#/definitions/X`.
fn normalize(schema: &Value) -> Value {
    fn refs(v: &Value) -> Value {
        match v {
            Value::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, v)| {
                        let v = match (k.as_str(), v.as_str()) {
                            ("$ref", Some(r)) => {
                                Value::String(r.replace("#/definitions/v2/", "#/definitions/"))
                            }
                            _ => refs(v),
                        };
                        (k.clone(), v)
                    })
                    .collect(),
            ),
            Value::Array(a) => Value::Array(a.iter().map(refs).collect()),
            other => other.clone(),
        }
    }
    let mut out = refs(schema);
    if let Some(o) = out.as_object_mut() {
        o.remove("$schema");
        o.remove("title");
    }
    out
}

/// The definition name a `$ref` points at.
pub(crate) fn ref_name(r: &str) -> Result<String, String> {
    r.strip_prefix("#/definitions/v2/")
        .or_else(|| r.strip_prefix("#/definitions/"))
        .filter(|n| !n.contains('/'))
        .map(str::to_string)
        .ok_or_else(|| format!("unsupported $ref `{r}`"))
}

/// Converts every definition (except the method unions) into items, boxing recursive edges.
pub(crate) fn build(defs: &BTreeMap<String, Value>) -> Result<Vec<Item>, String> {
    let mut conv = Conv { items: Vec::new() };
    for (name, schema) in defs {
        if METHOD_UNIONS.contains(&name.as_str()) {
            continue;
        }
        check_type_name(name)?;
        let start = conv.items.len();
        let doc = description(schema)
            .unwrap_or_else(|| format!("The `{name}` type of the app-server protocol."));
        let ty = if is_open_object(schema) {
            // A definition that is an object without declared members (empty responses, open
            // settings objects) is still a named struct; whatever it carries is kept in `extra`.
            conv.push(name, &doc, Shape::Struct(vec![extra_field()]))
        } else {
            conv.ty(schema, name, name, &doc)
                .map_err(|e| format!("definition `{name}`: {e}"))?
        };
        if ty != Ty::Named(name.clone()) {
            conv.items.push(Item {
                name: name.clone(),
                doc,
                shape: Shape::Alias(ty),
            });
        }
        // Emit the definition first, then the inline types it introduced.
        let last = conv.items.pop().expect("just pushed");
        conv.items.insert(start, last);
    }
    let mut seen = BTreeSet::new();
    for item in &conv.items {
        if !seen.insert(item.name.as_str()) {
            return Err(format!(
                "two generated types are named `{}`; add a naming rule to the generator",
                item.name
            ));
        }
    }
    for item in &conv.items {
        for name in direct_refs(item).into_iter().chain(all_refs(item)) {
            if !seen.contains(name.as_str()) {
                return Err(format!("`{}` refers to unknown type `{name}`", item.name));
            }
        }
    }
    box_cycles(&mut conv.items);
    Ok(conv.items)
}

/// `{"type": "object"}` with no members, union or typed `additionalProperties`.
fn is_open_object(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("object")
        && schema.get("properties").is_none()
        && union_members(schema.as_object().expect("typed object")).is_none()
        && matches!(
            schema.get("additionalProperties"),
            None | Some(Value::Bool(true))
        )
}

fn extra_field() -> Field {
    Field {
        wire: String::new(),
        ident: "extra".into(),
        doc: "Members not described by the schema, kept as sent.".into(),
        ty: Ty::Map(Box::new(Ty::Value)),
        kind: FieldKind::Flatten,
    }
}

fn check_type_name(name: &str) -> Result<(), String> {
    let ok = name.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && name.chars().all(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "definition name `{name}` is not a Rust type name; add a sanitizing rule"
        ))
    }
}

pub(crate) fn description(schema: &Value) -> Option<String> {
    schema
        .get("description")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_string)
}

struct Conv {
    items: Vec<Item>,
}

impl Conv {
    fn push(&mut self, name: &str, doc: &str, shape: Shape) -> Ty {
        self.items.push(Item {
            name: name.to_string(),
            doc: doc.to_string(),
            shape,
        });
        Ty::Named(name.to_string())
    }

    /// The type of `schema`. Nominal shapes (objects, unions, string enums) become an item named
    /// `name`; `owner` is the definition the title conventions of variants refer to.
    fn ty(&mut self, schema: &Value, name: &str, owner: &str, doc: &str) -> Result<Ty, String> {
        let o = match schema {
            Value::Bool(true) => return Ok(Ty::Value),
            Value::Object(o) => o,
            other => return Err(format!("unsupported schema `{other}`")),
        };
        if let Some(r) = o.get("$ref").and_then(Value::as_str) {
            return Ok(Ty::Named(ref_name(r)?));
        }
        if let Some(all) = o.get("allOf").and_then(Value::as_array) {
            return match all.as_slice() {
                [one] => self.ty(one, name, owner, doc),
                _ => Err("allOf with more than one member".into()),
            };
        }
        // `type: [X, "null"]`
        if let Some(types) = o.get("type").and_then(Value::as_array) {
            let non_null: Vec<&Value> = types.iter().filter(|t| *t != "null").collect();
            let nullable = non_null.len() < types.len();
            let inner = match non_null.as_slice() {
                [single] => {
                    let mut copy = o.clone();
                    copy.insert("type".into(), (*single).clone());
                    self.ty(&Value::Object(copy), name, owner, doc)?
                }
                // Several non-null types without further structure: free-form.
                _ => Ty::Value,
            };
            return Ok(if nullable { inner.nullable() } else { inner });
        }
        let is_object = o.get("type").and_then(Value::as_str) == Some("object");
        if o.contains_key("properties") {
            return self.object(o, name, doc);
        }
        if let Some(variants) = union_members(o) {
            return self.union(variants, name, owner, doc);
        }
        if o.contains_key("enum") {
            if o.get("type").and_then(Value::as_str) != Some("string") {
                return Err("enum that is not a string enum".into());
            }
            let mut variants = str_enum_variants(std::slice::from_ref(schema))?;
            check_variants(name, &mut variants)?;
            return Ok(self.push(name, doc, Shape::StrEnum(variants)));
        }
        let ty = match o.get("type").and_then(Value::as_str) {
            None => Ty::Value,
            Some("string") => Ty::Str,
            Some("boolean") => Ty::Bool,
            Some("null") => Ty::Unit,
            Some("number") => Ty::F64,
            Some("integer") => Ty::Int(int_type(o.get("format").and_then(Value::as_str))?),
            Some("array") => match o.get("items") {
                Some(items) => Ty::Vec(Box::new(self.ty(
                    items,
                    &format!("{name}Item"),
                    owner,
                    &format!("An item of [`{name}`]."),
                )?)),
                None => Ty::Vec(Box::new(Ty::Value)),
            },
            Some("object") if is_object => match o.get("additionalProperties") {
                Some(ap @ Value::Object(_)) => Ty::Map(Box::new(self.ty(
                    ap,
                    &format!("{name}Value"),
                    owner,
                    &format!("A value of [`{name}`]."),
                )?)),
                Some(Value::Bool(false)) => return self.object(o, name, doc),
                _ => Ty::Value,
            },
            Some(other) => return Err(format!("unsupported type `{other}`")),
        };
        Ok(ty)
    }

    /// A struct for an object schema with `properties` (possibly also `oneOf`/`anyOf`, which is
    /// flattened in as a `variant` field).
    fn object(&mut self, o: &Map<String, Value>, name: &str, doc: &str) -> Result<Ty, String> {
        let fields = self.fields(o, name, &[])?;
        Ok(self.push(name, doc, Shape::Struct(fields)))
    }

    fn fields(
        &mut self,
        o: &Map<String, Value>,
        name: &str,
        skip: &[&str],
    ) -> Result<Vec<Field>, String> {
        let required: BTreeSet<&str> = o
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let empty = Map::new();
        let props = o
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let mut fields = Vec::new();
        let mut idents = BTreeSet::new();
        for (wire, prop) in props {
            if skip.contains(&wire.as_str()) {
                continue;
            }
            // `extra` is the map of unknown members on every struct; a property of that name
            // (the experimental `Thread.extra`) keeps its wire name under another field name.
            let ident = if wire == "extra" {
                "extra_data".to_string()
            } else {
                snake_ident(wire)
            };
            if !idents.insert(ident.clone()) {
                return Err(format!(
                    "two properties of `{name}` map to the field `{ident}`"
                ));
            }
            let mut doc = description(prop).unwrap_or_else(|| format!("The `{wire}` field."));
            if let Some(default) = prop.get("default") {
                if !required.contains(wire.as_str()) && !default.is_null() {
                    doc.push_str(&format!("\n\nDefaults to `{default}` when absent."));
                }
            }
            let ty = self
                .ty(
                    prop,
                    &format!("{name}{}", pascal(wire)),
                    name,
                    &format!("The type of the `{wire}` field of [`{name}`]."),
                )
                .map_err(|e| format!("property `{wire}`: {e}"))?;
            let (ty, kind) = if !required.contains(wire.as_str()) {
                (strip_opt(ty).nullable_for_field(), FieldKind::Optional)
            } else if matches!(ty, Ty::Opt(_)) {
                (ty, FieldKind::Nullable)
            } else {
                (ty, FieldKind::Required)
            };
            fields.push(Field {
                wire: wire.clone(),
                ident,
                doc,
                ty,
                kind,
            });
        }
        if let Some(variants) = union_members(o) {
            let variant_name = format!("{name}Variant");
            let ty = self.union(
                variants,
                &variant_name,
                name,
                &format!("The variant-specific part of [`{name}`]."),
            )?;
            if idents.contains("variant") {
                return Err(format!("`{name}` already has a `variant` field"));
            }
            fields.push(Field {
                wire: String::new(),
                ident: "variant".into(),
                doc: format!("The variant-specific fields of [`{name}`] (flattened on the wire)."),
                ty,
                kind: FieldKind::Flatten,
            });
        }
        let open = o.get("additionalProperties") == Some(&Value::Bool(true)) && !props.is_empty();
        // Members the schema does not describe (a newer runtime's fields, or ones only the
        // experimental schema lists) are kept so they survive a round trip. Not on the delta
        // notifications, decoded by the thousand per turn, and not beside a flattened union,
        // which already sees every member.
        let has_flatten = fields.iter().any(|f| f.kind == FieldKind::Flatten);
        let keep_unknown = !has_flatten && !name.ends_with("DeltaNotification");
        if open || keep_unknown {
            if idents.contains("extra") {
                return Err(format!("`{name}` already has an `extra` field"));
            }
            fields.push(extra_field());
        }
        Ok(fields)
    }

    fn union(
        &mut self,
        members: &[Value],
        name: &str,
        owner: &str,
        doc: &str,
    ) -> Result<Ty, String> {
        let is_null = |v: &Value| v.get("type") == Some(&Value::String("null".into()));
        let non_null: Vec<Value> = members.iter().filter(|v| !is_null(v)).cloned().collect();
        let nullable = non_null.len() < members.len();
        if non_null.len() == 1 {
            let ty = self.ty(&non_null[0], name, owner, doc)?;
            return Ok(if nullable { ty.nullable() } else { ty });
        }
        let ty = if non_null.iter().all(is_str_enum) {
            let variants = str_enum_variants(&non_null)?;
            {
                let mut variants = variants;
                check_variants(name, &mut variants)?;
                self.push(name, doc, Shape::StrEnum(variants))
            }
        } else if let Some(tag) = tag_of(&non_null) {
            // Names first, so punctuation collisions are resolved before structs are named.
            let mut variants = Vec::new();
            for member in &non_null {
                let wire = single_enum(&member["properties"][&tag])
                    .expect("tag_of checked single-value enums")
                    .to_string();
                let vdoc = description(member)
                    .unwrap_or_else(|| format!("The `{wire}` variant of [`{name}`]."));
                variants.push(Variant {
                    ident: variant_ident(&wire),
                    wire,
                    doc: vdoc,
                    payload: None,
                });
            }
            check_variants(name, &mut variants)?;
            for (member, variant) in non_null.iter().zip(variants.iter_mut()) {
                let mo = member.as_object().expect("tag_of checked objects");
                let struct_name = title(member).unwrap_or_else(|| {
                    let ident = match variant.ident.as_str() {
                        "UnknownValue" => "Unknown",
                        other => other,
                    };
                    format!("{ident}{owner}")
                });
                let fields = self
                    .fields(mo, &struct_name, &[tag.as_str()])
                    .map_err(|e| format!("variant `{}`: {e}", variant.wire))?;
                variant.payload =
                    Some(self.push(&struct_name, &variant.doc, Shape::Struct(fields)));
            }
            self.push(name, doc, Shape::Tagged { tag, variants })
        } else if let Some(mut variants) = self.external(&non_null, name, owner)? {
            check_variants(name, &mut variants)?;
            self.push(name, doc, Shape::External(variants))
        } else {
            let mut variants = Vec::new();
            for (i, member) in non_null.iter().enumerate() {
                let member_title = title(member);
                let hint = member_title
                    .clone()
                    .unwrap_or_else(|| format!("{name}Variant{i}"));
                let vdoc =
                    description(member).unwrap_or_else(|| format!("A variant of [`{name}`]."));
                let inline_object =
                    member.get("properties").is_some() && member.get("$ref").is_none();
                let ident = if inline_object {
                    distinguishing_property(member, &non_null)
                        .map(|p| pascal(&p))
                        .or_else(|| {
                            member_title
                                .as_deref()
                                .map(|t| {
                                    t.strip_suffix(owner).filter(|s| !s.is_empty()).unwrap_or(t)
                                })
                                .map(str::to_string)
                        })
                        .unwrap_or_else(|| format!("Variant{i}"))
                } else {
                    String::new()
                };
                let hint = if member_title.is_none() && !ident.is_empty() {
                    format!("{ident}{owner}")
                } else {
                    hint
                };
                let ty = self.ty(member, &hint, owner, &vdoc)?;
                let ident = if ident.is_empty() {
                    ty.variant_name()
                } else {
                    ident
                };
                variants.push(Variant {
                    wire: String::new(),
                    ident,
                    doc: vdoc,
                    payload: Some(ty),
                });
            }
            check_variants(name, &mut variants)?;
            self.push(name, doc, Shape::Untagged(variants))
        };
        Ok(if nullable { ty.nullable() } else { ty })
    }

    /// Strings mixed with single-key objects (`"accept" | {"acceptWith…": {…}}`): serde's
    /// externally tagged representation. A member that admits any string or object is the
    /// catch-all the `Unknown` variant covers anyway.
    fn external(
        &mut self,
        members: &[Value],
        name: &str,
        owner: &str,
    ) -> Result<Option<Vec<Variant>>, String> {
        let is_catch_all = |v: &Value| {
            v.get("enum").is_none() && v.get("properties").is_none() && v.get("$ref").is_none()
        };
        let single_key = |v: &Value| -> Option<String> {
            let props = v.get("properties")?.as_object()?;
            let req = v.get("required")?.as_array()?;
            match (props.len(), req.as_slice()) {
                (1, [Value::String(k)]) if props.contains_key(k) => Some(k.clone()),
                _ => None,
            }
        };
        let fits = members
            .iter()
            .all(|m| is_str_enum(m) || single_key(m).is_some() || is_catch_all(m));
        if !fits || !members.iter().any(|m| single_key(m).is_some()) {
            return Ok(None);
        }
        let mut variants = Vec::new();
        for member in members {
            if is_str_enum(member) {
                variants.extend(str_enum_variants(std::slice::from_ref(member))?);
            } else if let Some(key) = single_key(member) {
                let inner = &member["properties"][&key];
                let vdoc = description(member)
                    .or_else(|| description(inner))
                    .unwrap_or_else(|| format!("The `{key}` variant of [`{name}`]."));
                let hint = title(member).unwrap_or_else(|| format!("{owner}{}", pascal(&key)));
                let ty = self.ty(inner, &hint, owner, &vdoc)?;
                variants.push(Variant {
                    ident: variant_ident(&key),
                    wire: key,
                    doc: vdoc,
                    payload: Some(ty),
                });
            }
        }
        Ok(Some(variants))
    }
}

impl Ty {
    /// The type of a non-required field: `Option<T>` (free-form values too, so absence is kept).
    fn nullable_for_field(self) -> Ty {
        match self {
            Ty::Opt(_) => self,
            other => Ty::Opt(Box::new(other)),
        }
    }
}

fn strip_opt(ty: Ty) -> Ty {
    match ty {
        Ty::Opt(inner) => *inner,
        other => other,
    }
}

fn union_members(o: &Map<String, Value>) -> Option<&[Value]> {
    o.get("oneOf")
        .or_else(|| o.get("anyOf"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
}

/// The member's `title` as a type name (`ApiKeyv2::LoginAccountParams` → `ApiKeyLoginAccountParams`).
fn title(schema: &Value) -> Option<String> {
    let t = schema
        .get("title")
        .and_then(Value::as_str)?
        .replace("v2::", "");
    let t: String = t.chars().filter(char::is_ascii_alphanumeric).collect();
    t.starts_with(|c: char| c.is_ascii_uppercase()).then_some(t)
}

fn is_str_enum(v: &Value) -> bool {
    v.get("type").and_then(Value::as_str) == Some("string") && v.get("enum").is_some()
}

fn single_enum(v: &Value) -> Option<&str> {
    match v.get("enum")?.as_array()?.as_slice() {
        [Value::String(s)] => Some(s),
        _ => None,
    }
}

/// The property every member requires as a single-value string enum with distinct values
/// (`type` preferred).
fn tag_of(members: &[Value]) -> Option<String> {
    let first = members.first()?.get("properties")?.as_object()?;
    let mut candidates: Vec<&String> = first.keys().collect();
    candidates.sort_by_key(|k| (k.as_str() != "type", k.as_str()));
    candidates.into_iter().find_map(|key| {
        let mut values = BTreeSet::new();
        for m in members {
            let required = m
                .get("required")
                .and_then(Value::as_array)
                .is_some_and(|r| r.iter().any(|x| x == key.as_str()));
            let value = m
                .get("properties")
                .and_then(|p| p.get(key))
                .and_then(single_enum);
            match value {
                Some(v) if required && values.insert(v) => {}
                _ => return None,
            }
        }
        Some(key.clone())
    })
}

/// For untitled object members of an untagged union: a required property no other member
/// requires.
fn distinguishing_property(member: &Value, all: &[Value]) -> Option<String> {
    let req = |m: &Value| -> Vec<String> {
        m.get("required")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mine = req(member);
    mine.into_iter().find(|p| {
        all.iter()
            .filter(|m| *m != member)
            .all(|m| !req(m).contains(p))
    })
}

fn str_enum_variants(members: &[Value]) -> Result<Vec<Variant>, String> {
    let mut variants = Vec::new();
    for member in members {
        let values = member
            .get("enum")
            .and_then(Value::as_array)
            .ok_or("string enum without values")?;
        let single_doc = if values.len() == 1 {
            description(member)
        } else {
            None
        };
        for value in values {
            let wire = value.as_str().ok_or("non-string enum value")?.to_string();
            variants.push(Variant {
                ident: variant_ident(&wire),
                doc: single_doc.clone().unwrap_or_else(|| format!("`{wire}`.")),
                wire,
                payload: None,
            });
        }
    }
    Ok(variants)
}

/// Variant name for a wire value; `Unknown` is reserved for the forward-compatible fallback.
fn variant_ident(wire: &str) -> String {
    let ident = pascal(wire);
    if ident == "Unknown" {
        "UnknownValue".into()
    } else {
        ident
    }
}

/// Fails on duplicate variant names, except that a wire value with punctuation that collides
/// with another (`openai/form` vs `openaiForm`) spells its punctuation out (`OpenaiSlashForm`).
fn check_variants(name: &str, variants: &mut [Variant]) -> Result<(), String> {
    let mut counts = BTreeMap::<String, usize>::new();
    for v in variants.iter() {
        *counts.entry(v.ident.clone()).or_default() += 1;
    }
    for v in variants.iter_mut() {
        if counts[&v.ident] > 1 && v.wire.contains(|c: char| !c.is_ascii_alphanumeric()) {
            v.ident = pascal(&spell_punctuation(&v.wire));
        }
    }
    let mut seen = BTreeSet::new();
    for v in variants.iter() {
        if !seen.insert(v.ident.as_str()) {
            return Err(format!("two variants of `{name}` are named `{}`", v.ident));
        }
    }
    Ok(())
}

fn spell_punctuation(wire: &str) -> String {
    wire.chars()
        .map(|c| match c {
            '/' => "_slash_".to_string(),
            '-' => "_dash_".to_string(),
            '.' => "_dot_".to_string(),
            '_' => "_underscore_".to_string(),
            c => c.to_string(),
        })
        .collect()
}

fn int_type(format: Option<&str>) -> Result<&'static str, String> {
    Ok(match format {
        None | Some("int64") => "i64",
        Some("uint64") | Some("uint") => "u64",
        Some("int32") => "i32",
        Some("uint32") => "u32",
        Some("int16") => "i16",
        Some("uint16") => "u16",
        Some("int8") => "i8",
        Some("uint8") => "u8",
        Some(other) => return Err(format!("unknown integer format `{other}`")),
    })
}

/// Named types an item holds without indirection (not through `Vec`/`Map`).
fn direct_refs(item: &Item) -> Vec<String> {
    fn collect(ty: &Ty, out: &mut Vec<String>) {
        match ty {
            Ty::Named(n) => out.push(n.clone()),
            Ty::Opt(t) => collect(t, out),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for ty in item_tys(item) {
        collect(ty, &mut out);
    }
    out
}

fn all_refs(item: &Item) -> Vec<String> {
    fn collect(ty: &Ty, out: &mut Vec<String>) {
        match ty {
            Ty::Named(n) => out.push(n.clone()),
            Ty::Opt(t) | Ty::Vec(t) | Ty::Map(t) | Ty::Boxed(t) => collect(t, out),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for ty in item_tys(item) {
        collect(ty, &mut out);
    }
    out
}

fn item_tys(item: &Item) -> Vec<&Ty> {
    match &item.shape {
        Shape::Alias(t) => vec![t],
        Shape::Struct(fields) => fields.iter().map(|f| &f.ty).collect(),
        Shape::StrEnum(_) => vec![],
        Shape::Tagged { variants, .. } | Shape::External(variants) | Shape::Untagged(variants) => {
            variants.iter().filter_map(|v| v.payload.as_ref()).collect()
        }
    }
}

/// Boxes every by-value reference between two types of the same strongly connected component
/// (a type that contains itself directly or through other by-value fields). Aliases are never
/// boxed themselves: boxing the struct/enum edges breaks the cycle.
fn box_cycles(items: &mut [Item]) {
    let index: BTreeMap<String, usize> = items
        .iter()
        .enumerate()
        .map(|(i, it)| (it.name.clone(), i))
        .collect();
    let edges: Vec<Vec<usize>> = items
        .iter()
        .map(|it| {
            direct_refs(it)
                .iter()
                .filter_map(|n| index.get(n).copied())
                .collect()
        })
        .collect();
    let comp = tarjan(&edges);
    for i in 0..items.len() {
        if matches!(items[i].shape, Shape::Alias(_)) {
            continue;
        }
        let my = comp[i];
        let boxed = |ty: &mut Ty| {
            fn walk(ty: &mut Ty, f: &dyn Fn(&str) -> bool) {
                match ty {
                    Ty::Named(n) if f(n) => {
                        *ty = Ty::Boxed(Box::new(Ty::Named(n.clone())));
                    }
                    Ty::Opt(t) => walk(t, f),
                    _ => {}
                }
            }
            walk(ty, &|n: &str| index.get(n).is_some_and(|&j| comp[j] == my));
        };
        match &mut items[i].shape {
            Shape::Struct(fields) => fields.iter_mut().for_each(|f| boxed(&mut f.ty)),
            Shape::Tagged { variants, .. }
            | Shape::External(variants)
            | Shape::Untagged(variants) => variants
                .iter_mut()
                .filter_map(|v| v.payload.as_mut())
                .for_each(boxed),
            Shape::Alias(_) | Shape::StrEnum(_) => {}
        }
    }
}

/// Strongly connected components; a node alone without a self-edge gets a unique component
/// number that nothing else shares, so it is never boxed.
fn tarjan(edges: &[Vec<usize>]) -> Vec<usize> {
    struct State<'a> {
        edges: &'a [Vec<usize>],
        index: Vec<Option<usize>>,
        low: Vec<usize>,
        on_stack: Vec<bool>,
        stack: Vec<usize>,
        next: usize,
        comp: Vec<usize>,
        ncomp: usize,
    }
    fn visit(s: &mut State<'_>, v: usize) {
        s.index[v] = Some(s.next);
        s.low[v] = s.next;
        s.next += 1;
        s.stack.push(v);
        s.on_stack[v] = true;
        for &w in &s.edges[v] {
            match s.index[w] {
                None => {
                    visit(s, w);
                    s.low[v] = s.low[v].min(s.low[w]);
                }
                Some(iw) if s.on_stack[w] => s.low[v] = s.low[v].min(iw),
                _ => {}
            }
        }
        if Some(s.low[v]) == s.index[v] {
            let mut members = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack[w] = false;
                members.push(w);
                if w == v {
                    break;
                }
            }
            let cyclic = members.len() > 1 || s.edges[v].contains(&v);
            for &w in &members {
                s.comp[w] = if cyclic { s.ncomp } else { usize::MAX - w };
            }
            s.ncomp += 1;
        }
    }
    let n = edges.len();
    let mut s = State {
        edges,
        index: vec![None; n],
        low: vec![0; n],
        on_stack: vec![false; n],
        stack: Vec::new(),
        next: 0,
        comp: vec![0; n],
        ncomp: 0,
    };
    for v in 0..n {
        if s.index[v].is_none() {
            visit(&mut s, v);
        }
    }
    s.comp
}
