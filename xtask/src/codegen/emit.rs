//! Model → Rust source text (unformatted; `rustfmt` tidies it afterwards).

use std::fmt::Write;

use super::experimental::Experimental;
use super::model::{Field, FieldKind, Item, Shape, Ty};

/// Writes `text` as `///` doc lines at the given indentation. Fenced blocks that do not say
/// their language are marked `text` so rustdoc never compiles schema prose as a doctest.
pub(crate) fn doc(out: &mut String, text: &str, indent: &str) {
    for line in text.lines() {
        let trimmed = line.trim_start();
        let line = if trimmed.starts_with("```") && !trimmed.contains(' ') {
            let lang = trimmed.trim_start_matches('`');
            if lang.is_empty() || lang == "text" {
                line.to_string()
            } else {
                format!("```text ({lang})")
            }
        } else {
            line.trim_end().to_string()
        };
        if line.is_empty() {
            let _ = writeln!(out, "{indent}///");
        } else {
            let _ = writeln!(out, "{indent}/// {line}");
        }
    }
}

const DERIVES: &str = "#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]";
const DERIVES_DEFAULT: &str = "#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]";

pub(crate) fn types_module(items: &[Item], marks: &Experimental) -> String {
    let mut out = String::new();
    out.push_str(
        "//! One Rust type per definition of the schema, named exactly as the definition.\n\
         //!\n\
         //! Inline object and enum schemas get generated names: `{Parent}{Field}` for a property,\n\
         //! the schema `title` (or `{Variant}{Parent}`) for a union member.\n\
         #![allow(\n\
         // Names follow the schema verbatim (`JSONRPCError`).\n\
         clippy::upper_case_acronyms,\n\
         // Doc comments are the schema's descriptions, written as markdown for other renderers.\n\
         clippy::doc_lazy_continuation,\n\
         clippy::doc_overindented_list_items,\n\
         clippy::too_long_first_doc_paragraph,\n\
         rustdoc::bare_urls,\n\
         rustdoc::broken_intra_doc_links,\n\
         rustdoc::invalid_html_tags,\n\
         rustdoc::invalid_rust_codeblocks,\n\
         )]\n\n\
         use serde::{Deserialize, Serialize};\n\n",
    );
    for item in items {
        emit_item(&mut out, item, marks);
        out.push('\n');
    }
    out
}

fn emit_item(out: &mut String, item: &Item, marks: &Experimental) {
    doc(out, &item.doc, "");
    let name = &item.name;
    // A gated type gates its impl blocks too; a type of the stable surface gates its members.
    let whole = Experimental::cfg(marks.item(name));
    let field_cfg = |ident: &str| Experimental::cfg(marks.field(name, ident));
    let variant_cfg = |ident: &str| Experimental::cfg(marks.variant(name, ident));
    out.push_str(whole);
    match &item.shape {
        Shape::Alias(ty) => {
            let _ = writeln!(out, "pub type {name} = {};", ty.rust());
        }
        Shape::Struct(fields) => {
            let all_optional = fields.iter().all(|f| {
                f.kind == FieldKind::Optional
                    || (f.kind == FieldKind::Flatten && matches!(f.ty, Ty::Map(_)))
            });
            out.push_str(if all_optional {
                DERIVES_DEFAULT
            } else {
                DERIVES
            });
            out.push('\n');
            if fields.is_empty() {
                let _ = writeln!(out, "pub struct {name} {{}}");
                return;
            }
            let _ = writeln!(out, "pub struct {name} {{");
            for field in fields {
                emit_field(out, field, field_cfg(&field.ident));
            }
            out.push_str("}\n");
        }
        Shape::StrEnum(variants) => {
            let _ = writeln!(out, "{DERIVES}\npub enum {name} {{");
            for v in variants {
                doc(out, &v.doc, "    ");
                let _ = writeln!(
                    out,
                    "    {}#[serde(rename = {:?})]\n    {},",
                    variant_cfg(&v.ident),
                    v.wire,
                    v.ident
                );
            }
            out.push_str(
                "    /// A value this version of the protocol does not know, kept as sent.\n    \
                 #[serde(untagged)]\n    Unknown(String),\n}\n",
            );
            // `as_str` gives the wire value of any variant, known or not.
            let _ = writeln!(
                out,
                "{whole}impl {name} {{\n    /// The value as it appears on the wire.\n    \
                 pub fn as_str(&self) -> &str {{\n        match self {{"
            );
            for v in variants {
                let _ = writeln!(
                    out,
                    "            {}Self::{} => {:?},",
                    variant_cfg(&v.ident),
                    v.ident,
                    v.wire
                );
            }
            out.push_str("            Self::Unknown(value) => value,\n        }\n    }\n}\n");
        }
        Shape::Tagged { tag, variants } => {
            let _ = writeln!(
                out,
                "{DERIVES}\n#[serde(tag = {tag:?})]\npub enum {name} {{"
            );
            for v in variants {
                doc(out, &v.doc, "    ");
                let payload = v.payload.as_ref().expect("tagged variants carry a struct");
                let _ = writeln!(
                    out,
                    "    {}#[serde(rename = {:?})]\n    {}({}),",
                    variant_cfg(&v.ident),
                    v.wire,
                    v.ident,
                    payload.rust()
                );
            }
            let _ = writeln!(
                out,
                "    /// A variant this version of the protocol does not know (or one whose fields do \
                 not match the schema), kept as the raw object including `{tag}`.\n    \
                 #[serde(untagged)]\n    Unknown(serde_json::Value),\n}}"
            );
        }
        Shape::External(variants) => {
            let _ = writeln!(out, "{DERIVES}\npub enum {name} {{");
            for v in variants {
                doc(out, &v.doc, "    ");
                match &v.payload {
                    Some(ty) => {
                        let _ = writeln!(
                            out,
                            "    {}#[serde(rename = {:?})]\n    {}({}),",
                            variant_cfg(&v.ident),
                            v.wire,
                            v.ident,
                            ty.rust()
                        );
                    }
                    None => {
                        let _ = writeln!(
                            out,
                            "    {}#[serde(rename = {:?})]\n    {},",
                            variant_cfg(&v.ident),
                            v.wire,
                            v.ident
                        );
                    }
                }
            }
            out.push_str(
                "    /// A value this version of the protocol does not know, kept as sent.\n    \
                 #[serde(untagged)]\n    Unknown(serde_json::Value),\n}\n",
            );
        }
        Shape::Untagged(variants) => {
            let _ = writeln!(out, "{DERIVES}\n#[serde(untagged)]\npub enum {name} {{");
            for v in variants {
                doc(out, &v.doc, "    ");
                let ty = v
                    .payload
                    .as_ref()
                    .expect("untagged variants carry a payload");
                let _ = writeln!(
                    out,
                    "    {}{}({}),",
                    variant_cfg(&v.ident),
                    v.ident,
                    ty.rust()
                );
            }
            out.push_str("}\n");
        }
    }
}

fn emit_field(out: &mut String, field: &Field, cfg: &str) {
    doc(out, &field.doc, "    ");
    if !cfg.is_empty() {
        let _ = write!(out, "    {cfg}");
    }
    let bare = field.ident.trim_start_matches("r#");
    let mut attrs = Vec::new();
    if field.kind == FieldKind::Flatten {
        attrs.push("flatten".to_string());
    } else if bare != field.wire {
        attrs.push(format!("rename = {:?}", field.wire));
    }
    if field.kind == FieldKind::Optional {
        attrs.push("default".into());
        attrs.push("skip_serializing_if = \"Option::is_none\"".into());
    }
    if !attrs.is_empty() {
        let _ = writeln!(out, "    #[serde({})]", attrs.join(", "));
    }
    let _ = writeln!(out, "    pub {}: {},", field.ident, field.ty.rust());
}
