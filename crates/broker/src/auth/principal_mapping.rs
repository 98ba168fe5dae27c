//! Kafka's `ssl.principal.mapping.rules` (KIP-371): how an SSL client's
//! certificate subject becomes its principal name. Rules are tried in order,
//! separated by commas:
//!
//! - `DEFAULT`: the subject as it is ("CN=alice,OU=eng,O=Strom").
//! - `RULE:pattern/replacement/` with an optional `L` or `U` after the last
//!   slash: when the regular expression matches the whole subject, the name
//!   is the replacement, where `$1`... are the pattern's groups, lower- or
//!   upper-cased with `L`/`U`. A `/` inside the pattern or the replacement is
//!   written `\/`.
//!
//! A subject that no rule matches is refused (Kafka fails the authentication).
//! Example: `RULE:^CN=([^,]+),OU=eng.*$/$1/L,DEFAULT` names "CN=Alice,OU=eng"
//! `alice` and keeps every other subject as it is.

use regex::{Regex, RegexBuilder};

/// Longest rule list accepted: it is compiled once, but bound it anyway.
const MAX_RULES_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone)]
enum Rule {
    Default,
    /// `whole` is the pattern anchored at both ends (Java's `matches()`).
    Replace { pattern: String, whole: Regex, replacement: Vec<Piece>, case: Case },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    Keep,
    Lower,
    Upper,
}

/// A replacement, parsed once: literal text and group references.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Group(usize),
}

/// The parsed rules; `DEFAULT` alone unless configured.
#[derive(Debug, Clone)]
pub struct PrincipalMapper {
    rules: Vec<Rule>,
}

impl Default for PrincipalMapper {
    fn default() -> Self {
        Self { rules: vec![Rule::Default] }
    }
}

impl PartialEq for PrincipalMapper {
    /// Equal when both would map every subject alike (same rule text).
    fn eq(&self, other: &Self) -> bool {
        self.describe() == other.describe()
    }
}

impl PrincipalMapper {
    /// Parses a rule list; the error says which rule is wrong and why.
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.len() > MAX_RULES_BYTES {
            return Err(format!("longer than {MAX_RULES_BYTES} bytes"));
        }
        let mut rules = Vec::new();
        let mut rest = text.trim();
        while !rest.is_empty() {
            let (rule, after) = parse_rule(rest)?;
            if let Some(rule) = rule {
                rules.push(rule);
            }
            rest = after.trim_start();
        }
        if rules.is_empty() {
            return Err("no rule given (DEFAULT keeps certificate subjects as they are)".into());
        }
        Ok(Self { rules })
    }

    /// The principal name for a certificate subject, or `None` when no rule applies.
    pub fn map(&self, subject: &str) -> Option<String> {
        self.rules.iter().find_map(|rule| match rule {
            Rule::Default => Some(subject.to_string()),
            Rule::Replace { whole, replacement, case, .. } => {
                let groups = whole.captures(subject)?;
                let mut name = String::new();
                for piece in replacement {
                    match piece {
                        Piece::Text(text) => name.push_str(text),
                        Piece::Group(i) => name.push_str(groups.get(*i).map_or("", |m| m.as_str())),
                    }
                }
                Some(match case {
                    Case::Keep => name,
                    Case::Lower => name.to_lowercase(),
                    Case::Upper => name.to_uppercase(),
                })
            }
        })
    }

    /// The rules as text, for logs and errors.
    pub fn describe(&self) -> String {
        let rules: Vec<String> = self
            .rules
            .iter()
            .map(|rule| match rule {
                Rule::Default => "DEFAULT".to_string(),
                Rule::Replace { pattern, replacement, case, .. } => {
                    let replacement: String = replacement
                        .iter()
                        .map(|p| match p {
                            Piece::Text(t) => t.replace('/', "\\/"),
                            Piece::Group(i) => format!("${i}"),
                        })
                        .collect();
                    let case = match case {
                        Case::Keep => "",
                        Case::Lower => "L",
                        Case::Upper => "U",
                    };
                    format!("RULE:{}/{replacement}/{case}", pattern.replace('/', "\\/"))
                }
            })
            .collect();
        rules.join(",")
    }
}

/// One rule from the start of `text`, and what follows its comma. Empty
/// rules (",,") are skipped as Kafka skips them.
fn parse_rule(text: &str) -> Result<(Option<Rule>, &str), String> {
    if let Some(rest) = text.strip_prefix(',') {
        return Ok((None, rest));
    }
    if let Some(rest) = text.strip_prefix("DEFAULT") {
        return Ok((Some(Rule::Default), end_of_rule(rest, "DEFAULT")?));
    }
    let Some(rest) = text.strip_prefix("RULE:") else {
        let rule = text.split(',').next().unwrap_or(text);
        return Err(format!("invalid rule {rule:?}: rules are DEFAULT or RULE:pattern/replacement/[LU]"));
    };
    let (pattern, rest) = until_slash(rest).ok_or_else(|| format!("rule {text:?} has no '/' after its pattern"))?;
    let (replacement, rest) = until_slash(rest).ok_or_else(|| format!("rule {text:?} has no '/' after its replacement"))?;
    let (case, rest) = match rest.chars().next() {
        Some('L') => (Case::Lower, &rest[1..]),
        Some('U') => (Case::Upper, &rest[1..]),
        _ => (Case::Keep, rest),
    };
    let whole = RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(1 << 20)
        .build()
        .map_err(|e| format!("rule {text:?}: invalid pattern: {e}"))?;
    let replacement = parse_replacement(&replacement, whole.captures_len() - 1);
    // Like Kafka, anything between the rule's end and the next comma is ignored.
    let rest = rest.find(',').map_or("", |i| &rest[i + 1..]);
    Ok((Some(Rule::Replace { pattern, whole, replacement, case }), rest))
}

/// After DEFAULT: only blanks before the comma or the end.
fn end_of_rule<'a>(rest: &'a str, rule: &str) -> Result<&'a str, String> {
    let rest = rest.trim_start();
    match rest.strip_prefix(',') {
        Some(after) => Ok(after),
        None if rest.is_empty() => Ok(rest),
        None => Err(format!("unexpected {rest:?} after {rule}")),
    }
}

/// Text up to the first unescaped '/', with `\/` unescaped (other escapes are
/// kept for the regular expression), and what follows the slash.
fn until_slash(text: &str) -> Option<(String, &str)> {
    let mut out = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '/' => return Some((out, &text[i + 1..])),
            '\\' => match chars.next() {
                Some((_, '/')) => out.push('/'),
                Some((_, next)) => {
                    out.push('\\');
                    out.push(next);
                }
                None => out.push('\\'),
            },
            _ => out.push(c),
        }
    }
    None
}

/// Java's replacement syntax: `$n` is group n (taking digits while the
/// number stays a valid group), `\x` is x; a `$` reference to a group the
/// pattern does not have stays literal text, as in Kafka.
fn parse_replacement(text: &str, groups: usize) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' if i + 1 < chars.len() => {
                literal.push(chars[i + 1]);
                i += 2;
            }
            '$' if chars.get(i + 1).and_then(|c| c.to_digit(10)).is_some_and(|d| d as usize <= groups) => {
                let mut group = chars[i + 1].to_digit(10).map_or(0, |d| d as usize);
                i += 2;
                while let Some(d) = chars.get(i).and_then(|c| c.to_digit(10)) {
                    let longer = group * 10 + d as usize;
                    if longer > groups {
                        break;
                    }
                    group = longer;
                    i += 1;
                }
                if !literal.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut literal)));
                }
                pieces.push(Piece::Group(group));
            }
            c => {
                literal.push(c);
                i += 1;
            }
        }
    }
    if !literal.is_empty() {
        pieces.push(Piece::Text(literal));
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(rules: &str, subject: &str) -> Option<String> {
        PrincipalMapper::parse(rules).unwrap().map(subject)
    }

    #[test]
    fn default_keeps_the_subject() {
        assert_eq!(PrincipalMapper::default().map("CN=alice,O=Strom").as_deref(), Some("CN=alice,O=Strom"));
        assert_eq!(map("DEFAULT", "CN=a").as_deref(), Some("CN=a"));
    }

    #[test]
    fn rules_apply_in_order_and_only_to_whole_subjects() {
        // The examples of Kafka's documentation for ssl.principal.mapping.rules.
        let rules = "RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/,RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L,RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/L,DEFAULT";
        assert_eq!(map(rules, "CN=serviceuser,OU=ServiceUsers,O=Unknown,L=Unknown,ST=Unknown,C=Unknown").as_deref(), Some("serviceuser"));
        assert_eq!(map(rules, "CN=adminUser,OU=Admin,O=Unknown,L=Unknown,ST=Unknown,C=Unknown").as_deref(), Some("adminuser@admin"));
        assert_eq!(map(rules, "OU=x,CN=Someone.Else,O=y").as_deref(), Some("someone.else"));
        assert_eq!(map(rules, "O=nobody").as_deref(), Some("O=nobody"));
        // No DEFAULT: a subject no rule matches has no principal.
        assert_eq!(map("RULE:^CN=(.*)$/$1/", "OU=x"), None);
        assert_eq!(map("RULE:CN=a/x/", "CN=ab"), None, "the pattern must match the whole subject");
    }

    #[test]
    fn case_escapes_and_group_references() {
        assert_eq!(map("RULE:^CN=(.*)$/$1/U", "CN=alice").as_deref(), Some("ALICE"));
        assert_eq!(map(r"RULE:^CN=([^\/]*)\/(.*)$/$2\/$1/", "CN=a/b").as_deref(), Some("b/a"));
        // $2 with one group is literal text; \$ is a dollar sign; $12 with one group is $1 then "2".
        assert_eq!(map("RULE:^CN=(.*)$/$2-$1/", "CN=x").as_deref(), Some("$2-x"));
        assert_eq!(map(r"RULE:^CN=(.*)$/\$$1/", "CN=x").as_deref(), Some("$x"));
        assert_eq!(map("RULE:^CN=(.*)$/$12/", "CN=x").as_deref(), Some("x2"));
        assert_eq!(map("RULE:^CN=(.*)$/$0!/", "CN=x").as_deref(), Some("CN=x!"));
        // Blanks around rules, empty rules and text after a rule's end are ignored.
        assert_eq!(map(" RULE:^CN=(.*)$/$1/L junk , , DEFAULT ", "CN=X").as_deref(), Some("x"));
    }

    #[test]
    fn mistakes_are_refused_with_the_rule() {
        for (rules, expected) in [
            ("", "no rule"),
            ("NOPE", "invalid rule \"NOPE\""),
            ("RULE:^CN=(.*)$", "no '/' after its pattern"),
            ("RULE:^CN=(.*)$/$1", "no '/' after its replacement"),
            ("RULE:^CN=(.*$/$1/", "invalid pattern"),
            ("DEFAULT junk", "after DEFAULT"),
        ] {
            let error = PrincipalMapper::parse(rules).unwrap_err();
            assert!(error.contains(expected), "{rules:?}: {error}");
        }
    }

    #[test]
    fn rules_describe_themselves() {
        let text = r"RULE:^CN=([^\/]*)\/x$/$1\/y/L,DEFAULT";
        assert_eq!(PrincipalMapper::parse(text).unwrap().describe(), text);
    }
}
