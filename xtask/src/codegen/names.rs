//! Case conversion for wire names (no dependency needed for the few rules we use).

/// Splits `camelCase`, `PascalCase`, `snake_case`, `kebab-case`, `a/b` and `ACRONYMWord` into
/// words. Digits stay attached to the word before them (`ent26`, `int64`).
fn words(s: &str) -> Vec<String> {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if c.is_ascii_uppercase() && !cur.is_empty() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_lower)
            {
                out.push(std::mem::take(&mut cur));
            }
        }
        cur.push(c);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `agentMessage` → `AgentMessage`, `openai/form` → `OpenaiForm`, `on-request` → `OnRequest`.
pub(crate) fn pascal(s: &str) -> String {
    let mut out = String::new();
    for w in words(s) {
        let mut chars = w.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars.map(|c| c.to_ascii_lowercase()));
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, 'V');
    }
    if out == "Self" {
        out.push('_');
    }
    out
}

/// `threadId` → `thread_id`, `type` → `r#type`, `_meta` → `meta`.
pub(crate) fn snake_ident(s: &str) -> String {
    let mut out = words(s)
        .iter()
        .map(|w| w.to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join("_");
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    match out.as_str() {
        "self" | "super" | "crate" => format!("{out}_"),
        kw if KEYWORDS.contains(&kw) => format!("r#{out}"),
        _ => out,
    }
}

const KEYWORDS: &[&str] = &[
    "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "do", "dyn",
    "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let",
    "loop", "macro", "match", "mod", "move", "mut", "override", "priv", "pub", "ref", "return",
    "static", "struct", "trait", "true", "try", "type", "typeof", "unsafe", "unsized", "use",
    "virtual", "where", "while", "yield",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cases() {
        assert_eq!(pascal("agentMessage"), "AgentMessage");
        assert_eq!(pascal("openai/form"), "OpenaiForm");
        assert_eq!(pascal("on-request"), "OnRequest");
        assert_eq!(
            pascal("self_serve_business_prolite"),
            "SelfServeBusinessProlite"
        );
        assert_eq!(pascal("mcpServer"), "McpServer");
        assert_eq!(pascal("oAuth"), "OAuth");
        assert_eq!(snake_ident("threadId"), "thread_id");
        assert_eq!(snake_ident("httpStatusCode"), "http_status_code");
        assert_eq!(snake_ident("type"), "r#type");
        assert_eq!(snake_ident("_meta"), "meta");
        assert_eq!(snake_ident("$schema"), "schema");
        assert_eq!(snake_ident("image_url"), "image_url");
        assert_eq!(snake_ident("self"), "self_");
    }
}
