//! The experimental surface: what the `--experimental` schema adds to the stable one.
//!
//! The code is generated from the experimental bundle (a superset of the stable one) and every
//! type, field, variant and method the stable bundle lacks is marked, so the emitters put it
//! behind `#[cfg(feature = "experimental")]`. Anything else that differs between the two (a
//! field whose type changed, a stable member missing from the experimental bundle) is an error:
//! the stable surface must be exactly the same with the feature on or off.

use std::collections::{BTreeMap, BTreeSet};

use super::methods::{Method, Methods};
use super::model::{Field, Item, Shape, Variant};

/// Names of everything only the experimental bundle has.
#[derive(Debug, Default)]
pub(crate) struct Experimental {
    items: BTreeSet<String>,
    fields: BTreeSet<(String, String)>,
    variants: BTreeSet<(String, String)>,
    methods: BTreeSet<String>,
}

impl Experimental {
    /// Whether the whole type is experimental.
    pub(crate) fn item(&self, item: &str) -> bool {
        self.items.contains(item)
    }

    /// Whether a field of a type the stable surface has is experimental.
    pub(crate) fn field(&self, item: &str, field: &str) -> bool {
        self.fields.contains(&(item.to_string(), field.to_string()))
    }

    /// Whether a variant of an enum the stable surface has is experimental.
    pub(crate) fn variant(&self, item: &str, variant: &str) -> bool {
        self.variants
            .contains(&(item.to_string(), variant.to_string()))
    }

    /// Whether a method (by its wire name) is experimental.
    pub(crate) fn method(&self, method: &str) -> bool {
        self.methods.contains(method)
    }

    /// `CFG` and a newline when `gated`, else nothing: the prefix of a gated line.
    pub(crate) fn cfg(gated: bool) -> &'static str {
        if gated {
            "#[cfg(feature = \"experimental\")]\n"
        } else {
            ""
        }
    }

    /// How many types, fields, variants and methods are experimental (for the summary line).
    pub(crate) fn summary(&self) -> String {
        format!(
            "{} types, {} fields, {} variants, {} methods",
            self.items.len(),
            self.fields.len(),
            self.variants.len(),
            self.methods.len()
        )
    }
}

/// Marks what `experimental` adds to `stable`; fails on any other difference.
pub(crate) fn mark(
    stable: &[Item],
    experimental: &[Item],
    stable_methods: &Methods,
    experimental_methods: &Methods,
) -> Result<Experimental, String> {
    let mut marks = Experimental::default();
    let stable_items: BTreeMap<&str, &Item> = stable.iter().map(|i| (i.name.as_str(), i)).collect();
    let experimental_names: BTreeSet<&str> = experimental.iter().map(|i| i.name.as_str()).collect();
    if let Some(missing) = stable_items
        .keys()
        .find(|name| !experimental_names.contains(*name))
    {
        return Err(format!(
            "the stable type `{missing}` is missing from the experimental schema"
        ));
    }
    for item in experimental {
        let Some(old) = stable_items.get(item.name.as_str()) else {
            marks.items.insert(item.name.clone());
            continue;
        };
        let name = &item.name;
        match (&old.shape, &item.shape) {
            (Shape::Alias(a), Shape::Alias(b)) if a == b => {}
            (Shape::Struct(a), Shape::Struct(b)) => {
                for field in added(name, a, b, "field", |f: &Field| &f.ident, same_field)? {
                    marks.fields.insert((name.clone(), field));
                }
            }
            (Shape::StrEnum(a), Shape::StrEnum(b))
            | (Shape::External(a), Shape::External(b))
            | (Shape::Untagged(a), Shape::Untagged(b)) => {
                for v in added(name, a, b, "variant", |v: &Variant| &v.ident, same_variant)? {
                    marks.variants.insert((name.clone(), v));
                }
            }
            (
                Shape::Tagged {
                    tag: tag_a,
                    variants: a,
                },
                Shape::Tagged {
                    tag: tag_b,
                    variants: b,
                },
            ) if tag_a == tag_b => {
                for v in added(name, a, b, "variant", |v: &Variant| &v.ident, same_variant)? {
                    marks.variants.insert((name.clone(), v));
                }
            }
            _ => {
                return Err(format!(
                    "`{name}` has a different shape in the experimental schema"
                ))
            }
        }
    }
    for (what, a, b) in [
        (
            "client request",
            &stable_methods.client_requests,
            &experimental_methods.client_requests,
        ),
        (
            "server notification",
            &stable_methods.server_notifications,
            &experimental_methods.server_notifications,
        ),
        (
            "server request",
            &stable_methods.server_requests,
            &experimental_methods.server_requests,
        ),
        (
            "client notification",
            &stable_methods.client_notifications,
            &experimental_methods.client_notifications,
        ),
    ] {
        for method in added(what, a, b, "method", |m: &Method| &m.method, same_method)? {
            marks.methods.insert(method);
        }
    }
    Ok(marks)
}

/// The keys of `new` that `old` lacks; every key of `old` must be in `new`, unchanged.
fn added<T>(
    owner: &str,
    old: &[T],
    new: &[T],
    what: &str,
    key: impl Fn(&T) -> &String,
    same: impl Fn(&T, &T) -> bool,
) -> Result<Vec<String>, String> {
    let old_by_key: BTreeMap<&String, &T> = old.iter().map(|x| (key(x), x)).collect();
    let new_keys: BTreeSet<&String> = new.iter().map(&key).collect();
    if let Some(missing) = old_by_key.keys().find(|k| !new_keys.contains(*k)) {
        return Err(format!(
            "the stable {what} `{missing}` of `{owner}` is missing from the experimental schema"
        ));
    }
    let mut out = Vec::new();
    for x in new {
        match old_by_key.get(key(x)) {
            None => out.push(key(x).clone()),
            Some(o) if same(o, x) => {}
            Some(_) => {
                return Err(format!(
                    "the {what} `{}` of `{owner}` differs between the stable and the \
                     experimental schema",
                    key(x)
                ))
            }
        }
    }
    Ok(out)
}

fn same_field(a: &Field, b: &Field) -> bool {
    a.wire == b.wire && a.ty == b.ty && a.kind == b.kind
}

fn same_variant(a: &Variant, b: &Variant) -> bool {
    a.wire == b.wire && a.payload == b.payload
}

fn same_method(a: &Method, b: &Method) -> bool {
    a.marker == b.marker && a.params == b.params && a.response == b.response
}
