//! The safety checks `mlflow server` runs on a parsed query before
//! validating it: at most 10 levels deep, 1000 field selections, and caps
//! on root fields and on aliases at any one level
//! (`MLFLOW_SERVER_GRAPHQL_MAX_ROOT_FIELDS` / `_MAX_ALIASES`, default 10,
//! read at start-up into `config::RequestLimits`).
//! The walk visits fields in the same order as MLflow's, so a query over
//! two limits reports the same one.

use super::parser::{Document, Field, Selection};
use std::collections::{HashSet, VecDeque};

const MAX_DEPTH: usize = 10;
const MAX_SELECTIONS: usize = 1000;
pub const ROOT_FIELDS_VAR: &str = "MLFLOW_SERVER_GRAPHQL_MAX_ROOT_FIELDS";
pub const ALIASES_VAR: &str = "MLFLOW_SERVER_GRAPHQL_MAX_ALIASES";

#[derive(Debug, Clone, Copy)]
pub struct Caps {
    pub root_fields: usize,
    pub aliases: usize,
}

impl Caps {
    /// From the server's settings (the variables are read at start-up).
    pub fn from_settings(limits: &crate::config::RequestLimits) -> Caps {
        Caps {
            root_fields: limits.graphql_max_root_fields,
            aliases: limits.graphql_max_aliases,
        }
    }
}

/// The fields of one level, fragments (inline or spread) merged in, and
/// how many of them carry an alias.
fn level_fields<'a>(
    doc: &'a Document,
    selections: &'a [Selection],
    visited: &HashSet<&'a str>,
) -> (Vec<&'a Field>, usize) {
    let mut fields = Vec::new();
    let mut aliases = 0;
    let mut queue: VecDeque<&Selection> = selections.iter().collect();
    let mut seen = visited.clone();
    while let Some(sel) = queue.pop_front() {
        match sel {
            Selection::Field(f) => {
                aliases += usize::from(f.alias.is_some());
                fields.push(f);
            }
            Selection::InlineFragment { selection_set, .. } => queue.extend(selection_set),
            Selection::FragmentSpread { name, .. } => {
                if seen.insert(name.as_str()) {
                    if let Some(frag) = doc.fragment(name) {
                        queue.extend(&frag.selection_set);
                    }
                }
            }
        }
    }
    (fields, aliases)
}

/// `Err(message)` when the query breaks a limit.
pub fn check(doc: &Document, caps: Caps) -> Result<(), String> {
    let mut root_fields = 0;
    let mut max_aliases = 0;
    let mut total = 0;
    for op in doc.operations() {
        let empty = HashSet::new();
        let mut stack = vec![(&op.selection_set[..], 1usize)];
        while let Some((selections, depth)) = stack.pop() {
            if depth > MAX_DEPTH {
                return Err(format!("Query exceeds maximum depth of {MAX_DEPTH}"));
            }
            // MLflow passes the parent's visited set down unchanged (always
            // empty), so fragments are expanded afresh at every level.
            let (fields, aliases) = level_fields(doc, selections, &empty);
            for f in fields {
                if depth == 1 {
                    root_fields += 1;
                }
                if let Some(sub) = &f.selection_set {
                    stack.push((sub.as_slice(), depth + 1));
                }
                total += 1;
                if total > MAX_SELECTIONS {
                    return Err(format!(
                        "Query exceeds maximum total selections of {MAX_SELECTIONS}"
                    ));
                }
            }
            max_aliases = max_aliases.max(aliases);
        }
    }
    let over = |what: &str, var: &str, cap: usize, got: usize| {
        format!(
            "GraphQL queries should have at most {cap} {what}, got {got} {what}. \
             To increase the limit, set the {var} environment variable."
        )
    };
    if root_fields > caps.root_fields {
        return Err(over(
            "root fields",
            ROOT_FIELDS_VAR,
            caps.root_fields,
            root_fields,
        ));
    }
    if max_aliases > caps.aliases {
        return Err(over("aliases", ALIASES_VAR, caps.aliases, max_aliases));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graphql::parser::parse;

    const CAPS: Caps = Caps {
        root_fields: 10,
        aliases: 10,
    };

    #[test]
    fn depth_limit() {
        let nested = |n: usize| format!("{}{}", "{ a ".repeat(n), "}".repeat(n));
        assert!(check(&parse(&nested(10)).unwrap(), CAPS).is_ok());
        assert_eq!(
            check(&parse(&nested(11)).unwrap(), CAPS).unwrap_err(),
            "Query exceeds maximum depth of 10"
        );
    }

    #[test]
    fn selections_root_fields_and_aliases() {
        let wide = format!("{{ a {{ {} }} }}", "b ".repeat(1000));
        assert_eq!(
            check(&parse(&wide).unwrap(), CAPS).unwrap_err(),
            "Query exceeds maximum total selections of 1000"
        );
        let roots = format!("{{ {} }}", "__typename ".repeat(11));
        assert_eq!(
            check(&parse(&roots).unwrap(), CAPS).unwrap_err(),
            "GraphQL queries should have at most 10 root fields, got 11 root fields. To increase the limit, set the MLFLOW_SERVER_GRAPHQL_MAX_ROOT_FIELDS environment variable."
        );
        let aliases: String = (0..11).map(|i| format!("a{i}: x ")).collect();
        let q = format!("{{ r {{ {aliases} }} }}");
        assert!(check(&parse(&q).unwrap(), CAPS)
            .unwrap_err()
            .starts_with("GraphQL queries should have at most 10 aliases, got 11 aliases."));
        // Aliases spread over sibling fragments count together.
        let q = "{ r { ...A ...B } } fragment A on T { a1: x a2: x a3: x a4: x a5: x a6: x } fragment B on T { b1: x b2: x b3: x b4: x b5: x }";
        assert!(check(&parse(q).unwrap(), CAPS).is_err());
    }
}
