//! Validation of a document against the schema: graphql-core's specified
//! rules, with its messages, for everything a client can get wrong in an
//! executable document here (unknown fields, arguments, types, fragments,
//! directives and variables; leaf selections; literal values; variable
//! positions; merge conflicts at one level). Errors come in the order the
//! rules report them for single-mistake documents.

use super::parser::{
    print_value, Directive, Document, Field, Fragment, Operation, OperationKind, Selection, Type,
    Value,
};
use super::schema::{schema, Kind, Schema, COMPONENT};
use super::suggest::{did_you_mean, did_you_mean_with, suggestion_list};
use std::collections::{HashMap, HashSet};

const INT_MAX: i64 = i32::MAX as i64;
const INT_MIN: i64 = i32::MIN as i64;

/// A variable used where a value of `ty` is expected.
struct Usage {
    name: String,
    /// `None` inside an unknown argument: used, but in no typed position.
    ty: Option<Type>,
}

#[derive(Default)]
struct Scope {
    usages: Vec<Usage>,
    spreads: Vec<String>,
}

struct Validator<'a> {
    schema: &'static Schema,
    doc: &'a Document,
    errors: Vec<String>,
    cycles: Cycles,
}

/// NoFragmentCycles: a depth-first walk over spreads that reports each
/// cycle once, from the first fragment of the document that enters it.
#[derive(Default)]
struct Cycles {
    visited: HashSet<String>,
    path: Vec<String>,
    index: HashMap<String, usize>,
}

impl Cycles {
    fn detect(&mut self, v: &mut Validator<'_>, frag: &Fragment) {
        if !self.visited.insert(frag.name.clone()) {
            return;
        }
        let spreads = spreads_in_walk_order(&frag.selection_set);
        if spreads.is_empty() {
            return;
        }
        self.index.insert(frag.name.clone(), self.path.len());
        for name in spreads {
            let cycle_at = self.index.get(&name).copied();
            self.path.push(name.clone());
            match cycle_at {
                None => {
                    let doc = v.doc;
                    if let Some(f) = doc.fragment(&name) {
                        self.detect(v, f);
                    }
                }
                Some(i) => {
                    let via: Vec<String> = self.path[i..self.path.len() - 1]
                        .iter()
                        .map(|n| format!("'{n}'"))
                        .collect();
                    v.err(if via.is_empty() {
                        format!("Cannot spread fragment '{name}' within itself.")
                    } else {
                        format!(
                            "Cannot spread fragment '{name}' within itself via {}.",
                            via.join(", ")
                        )
                    });
                }
            }
            self.path.pop();
        }
        self.index.remove(&frag.name);
    }
}

/// The spreads below a selection set in graphql-core's walk order: one
/// level in document order, nested sets last-found first.
fn spreads_in_walk_order(set: &[Selection]) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![set];
    while let Some(set) = stack.pop() {
        for sel in set {
            match sel {
                Selection::FragmentSpread { name, .. } => out.push(name.clone()),
                Selection::Field(f) => {
                    if let Some(s) = &f.selection_set {
                        stack.push(s);
                    }
                }
                Selection::InlineFragment { selection_set, .. } => stack.push(selection_set),
            }
        }
    }
    out
}

pub fn validate(doc: &Document) -> Vec<String> {
    let mut v = Validator {
        schema: schema(),
        doc,
        errors: Vec::new(),
        cycles: Cycles::default(),
    };
    v.document();
    v.errors
}

/// Whether a variable of type `sub` may be passed where `sup` is expected.
fn is_subtype(sub: &Type, sup: &Type) -> bool {
    match (sub, sup) {
        (Type::NonNull(a), Type::NonNull(b)) => is_subtype(a, b),
        (_, Type::NonNull(_)) => false,
        (Type::NonNull(a), b) => is_subtype(a, b),
        (Type::List(a), Type::List(b)) => is_subtype(a, b),
        (_, Type::List(_)) | (Type::List(_), _) => false,
        (Type::Named(a), Type::Named(b)) => a == b,
    }
}

impl<'a> Validator<'a> {
    fn err(&mut self, message: String) {
        self.errors.push(message);
    }

    fn document(&mut self) {
        let doc = self.doc;
        // Every fragment's variable usages, for the operations spreading
        // it (its own errors are reported where it is defined).
        let frag_scopes: HashMap<String, Scope> = doc
            .fragments()
            .map(|f| (f.name.clone(), self.fragment(f)))
            .collect();
        self.errors.clear();
        self.cycles = Cycles::default();
        let op_count = doc.operations().count();
        let mut op_names = HashSet::new();
        let mut frag_names = HashSet::new();
        for def in &doc.definitions {
            match def {
                super::parser::Definition::Operation(op) => {
                    if let Some(name) = &op.name {
                        if !op_names.insert(name.as_str()) {
                            self.err(format!("There can be only one operation named '{name}'."));
                        }
                    } else if op_count > 1 {
                        self.err(
                            "This anonymous operation must be the only defined operation.".into(),
                        );
                    }
                    let scope = self.operation(op);
                    self.check_variables(op, &scope, &frag_scopes);
                }
                super::parser::Definition::Fragment(frag) => {
                    if !frag_names.insert(frag.name.as_str()) {
                        self.err(format!(
                            "There can be only one fragment named '{}'.",
                            frag.name
                        ));
                    }
                    self.fragment(frag);
                }
            }
        }
        // Fragments reached from no operation.
        let mut used = HashSet::new();
        let mut stack: Vec<String> = Vec::new();
        for op in doc.operations() {
            collect_spreads(&op.selection_set, &mut stack);
        }
        while let Some(name) = stack.pop() {
            if used.insert(name.clone()) {
                if let Some(f) = doc.fragment(&name) {
                    collect_spreads(&f.selection_set, &mut stack);
                }
            }
        }
        for frag in doc.fragments() {
            if !used.contains(&frag.name) {
                self.err(format!("Fragment '{}' is never used.", frag.name));
            }
        }
    }

    fn operation(&mut self, op: &Operation) -> Scope {
        let mut scope = Scope::default();
        let mut var_names = HashSet::new();
        for var in &op.variables {
            if !var_names.insert(var.name.as_str()) {
                self.err(format!(
                    "There can be only one variable named '${}'.",
                    var.name
                ));
            }
            let named = var.ty.named();
            match self.schema.get(named) {
                None => self.unknown_type(named),
                Some(t) if t.kind == Kind::Object => self.err(format!(
                    "Variable '${}' cannot be non-input type '{}'.",
                    var.name, var.ty
                )),
                Some(_) => {
                    if let Some(default) = &var.default {
                        self.literal(default, &var.ty, &mut scope);
                    }
                }
            }
            self.directives(&var.directives, "variable definition", &mut scope);
        }
        let location = match op.kind {
            OperationKind::Query => "query",
            OperationKind::Mutation => "mutation",
            OperationKind::Subscription => "subscription",
        };
        self.directives(&op.directives, location, &mut scope);
        let root = match op.kind {
            OperationKind::Query => Some("Query"),
            OperationKind::Mutation => Some("Mutation"),
            OperationKind::Subscription => None,
        };
        self.selection_set(&op.selection_set, root, &mut scope);
        scope
    }

    /// NoUndefinedVariables, NoUnusedVariables, VariablesInAllowedPosition
    /// over the operation's usages and those of the fragments it spreads.
    fn check_variables(&mut self, op: &Operation, scope: &Scope, frags: &HashMap<String, Scope>) {
        let mut usages: Vec<&Usage> = scope.usages.iter().collect();
        let mut seen = HashSet::new();
        let mut stack: Vec<&str> = scope.spreads.iter().map(String::as_str).collect();
        while let Some(name) = stack.pop() {
            if !seen.insert(name) {
                continue;
            }
            if let Some(s) = frags.get(name) {
                usages.extend(s.usages.iter());
                stack.extend(s.spreads.iter().map(String::as_str));
            }
        }
        let defined: HashMap<&str, &super::parser::VariableDefinition> =
            op.variables.iter().map(|v| (v.name.as_str(), v)).collect();
        for u in &usages {
            if !defined.contains_key(u.name.as_str()) {
                self.err(match &op.name {
                    Some(n) => format!("Variable '${}' is not defined by operation '{n}'.", u.name),
                    None => format!("Variable '${}' is not defined.", u.name),
                });
            }
        }
        for var in &op.variables {
            if !usages.iter().any(|u| u.name == var.name) {
                self.err(match &op.name {
                    Some(n) => {
                        format!("Variable '${}' is never used in operation '{n}'.", var.name)
                    }
                    None => format!("Variable '${}' is never used.", var.name),
                });
            }
        }
        for u in &usages {
            let (Some(def), Some(loc)) = (defined.get(u.name.as_str()), &u.ty) else {
                continue;
            };
            if self.schema.get(def.ty.named()).is_none() {
                continue;
            }
            let has_default = def.default.as_ref().is_some_and(|d| *d != Value::Null);
            let ok = match (loc, &def.ty) {
                (Type::NonNull(inner), var_ty) if !matches!(var_ty, Type::NonNull(_)) => {
                    has_default && is_subtype(var_ty, inner)
                }
                (loc, var_ty) => is_subtype(var_ty, loc),
            };
            if !ok {
                self.err(format!(
                    "Variable '${}' of type '{}' used in position expecting type '{}'.",
                    u.name, def.ty, loc
                ));
            }
        }
    }

    fn fragment(&mut self, frag: &Fragment) -> Scope {
        let mut scope = Scope::default();
        let cond = frag.type_condition.as_str();
        let parent = match self.schema.get(cond) {
            None => {
                self.unknown_type(cond);
                None
            }
            Some(t) if t.kind != Kind::Object => {
                self.err(format!(
                    "Fragment '{}' cannot condition on non composite type '{cond}'.",
                    frag.name
                ));
                None
            }
            Some(_) => Some(cond),
        };
        let mut cycles = Cycles::default();
        std::mem::swap(&mut cycles, &mut self.cycles);
        cycles.detect(self, frag);
        std::mem::swap(&mut cycles, &mut self.cycles);
        self.directives(&frag.directives, "fragment definition", &mut scope);
        self.selection_set(&frag.selection_set, parent, &mut scope);
        scope
    }

    fn unknown_type(&mut self, name: &str) {
        let names = self.schema.types.iter().map(|t| t.name);
        let suggestions = suggestion_list(name, names);
        self.err(format!(
            "Unknown type '{name}'.{}",
            did_you_mean(&suggestions)
        ));
    }

    fn selection_set(&mut self, set: &[Selection], parent: Option<&str>, scope: &mut Scope) {
        if let Some(parent) = parent {
            self.overlaps(set, parent);
        }
        for sel in set {
            match sel {
                Selection::Field(f) => self.field(f, parent, scope),
                Selection::FragmentSpread { name, directives } => {
                    scope.spreads.push(name.clone());
                    match self.doc.fragment(name) {
                        None => self.err(format!("Unknown fragment '{name}'.")),
                        Some(frag) => {
                            if let Some(p) = parent {
                                let cond = frag.type_condition.as_str();
                                if self
                                    .schema
                                    .get(cond)
                                    .is_some_and(|t| t.kind == Kind::Object)
                                    && cond != p
                                {
                                    self.err(format!(
                                        "Fragment '{name}' cannot be spread here as objects of type '{p}' can never be of type '{cond}'."
                                    ));
                                }
                            }
                        }
                    }
                    self.directives(directives, "fragment spread", scope);
                }
                Selection::InlineFragment {
                    type_condition,
                    directives,
                    selection_set,
                } => {
                    let mut inner = parent;
                    if let Some(cond) = type_condition {
                        match self.schema.get(cond) {
                            None => {
                                self.unknown_type(cond);
                                inner = None;
                            }
                            Some(t) if t.kind != Kind::Object => {
                                self.err(format!(
                                    "Fragment cannot condition on non composite type '{cond}'."
                                ));
                                inner = None;
                            }
                            Some(t) => {
                                if let Some(p) = parent.filter(|p| *p != t.name) {
                                    self.err(format!(
                                        "Fragment cannot be spread here as objects of type '{p}' can never be of type '{cond}'."
                                    ));
                                }
                                inner = Some(t.name);
                            }
                        }
                    }
                    self.directives(directives, "inline fragment", scope);
                    self.selection_set(selection_set, inner, scope);
                }
            }
        }
    }

    fn field(&mut self, f: &Field, parent: Option<&str>, scope: &mut Scope) {
        let schema = self.schema;
        let def = parent
            .and_then(|p| schema.get(p))
            .and_then(|t| t.field(&f.name));
        let mut sub_parent = None;
        match (parent, def) {
            (None, _) => {}
            (Some(_), _) if f.name == "__typename" => {
                if f.selection_set.is_some() {
                    self.err(format!(
                        "Field '{}' must not have a selection since type 'String!' has no subfields.",
                        f.name
                    ));
                }
            }
            (Some(p), None) => {
                let names = schema
                    .get(p)
                    .map(|t| t.fields.iter().map(|x| x.name).collect::<Vec<_>>())
                    .unwrap_or_default();
                let suggestions = suggestion_list(&f.name, names);
                self.err(format!(
                    "Cannot query field '{}' on type '{p}'.{}",
                    f.name,
                    did_you_mean(&suggestions)
                ));
            }
            (Some(_), Some(def)) => {
                let target = schema.get(def.ty.named());
                let is_object = target.is_some_and(|t| t.kind == Kind::Object);
                match (&f.selection_set, is_object) {
                    (Some(_), false) => self.err(format!(
                        "Field '{}' must not have a selection since type '{}' has no subfields.",
                        f.name, def.ty
                    )),
                    (None, true) => self.err(format!(
                        "Field '{}' of type '{}' must have a selection of subfields. Did you mean '{} {{ ... }}'?",
                        f.name, def.ty, f.name
                    )),
                    _ => {}
                }
                if is_object {
                    sub_parent = target.map(|t| t.name);
                }
            }
        }
        self.directives(&f.directives, "field", scope);
        let arg_defs: Option<Vec<(&str, &Type)>> =
            def.map(|d| d.args.iter().map(|(n, t)| (*n, t)).collect());
        let owner = format!("field '{}.{}'", parent.unwrap_or(""), f.name);
        self.arguments(&f.arguments, arg_defs.as_deref(), &owner, scope);
        if let Some(set) = &f.selection_set {
            self.selection_set(set, sub_parent, scope);
        }
    }

    fn arguments(
        &mut self,
        args: &[(String, Value)],
        defs: Option<&[(&str, &Type)]>,
        owner: &str,
        scope: &mut Scope,
    ) {
        let mut seen = HashSet::new();
        for (name, value) in args {
            if !seen.insert(name.as_str()) {
                self.err(format!("There can be only one argument named '{name}'."));
            }
            let Some(defs) = defs else {
                self.collect_usages(value, scope);
                continue;
            };
            match defs.iter().find(|(n, _)| n == name) {
                None => {
                    let suggestions = suggestion_list(name, defs.iter().map(|(n, _)| *n));
                    self.err(format!(
                        "Unknown argument '{name}' on {owner}.{}",
                        did_you_mean(&suggestions)
                    ));
                    self.collect_usages(value, scope);
                }
                Some((_, ty)) => self.literal(value, ty, scope),
            }
        }
    }

    /// Variables inside a value nobody types (an unknown argument): still
    /// used, so they are not reported as unused.
    fn collect_usages(&mut self, value: &Value, scope: &mut Scope) {
        match value {
            Value::Variable(n) => scope.usages.push(Usage {
                name: n.clone(),
                ty: None,
            }),
            Value::List(items) => items.iter().for_each(|v| self.collect_usages(v, scope)),
            Value::Object(fields) => fields
                .iter()
                .for_each(|(_, v)| self.collect_usages(v, scope)),
            _ => {}
        }
    }

    fn directives(&mut self, directives: &[Directive], location: &str, scope: &mut Scope) {
        let mut seen = HashSet::new();
        for d in directives {
            if d.name != COMPONENT {
                self.err(format!("Unknown directive '@{}'.", d.name));
                continue;
            }
            if location != "query" && location != "mutation" {
                self.err(format!(
                    "Directive '@{}' may not be used on {location}.",
                    d.name
                ));
            }
            if !seen.insert(d.name.as_str()) {
                self.err(format!(
                    "The directive '@{}' can only be used once at this location.",
                    d.name
                ));
            }
            let name_ty = Type::NonNull(Box::new(Type::Named("String".into())));
            let defs: [(&str, &Type); 1] = [("name", &name_ty)];
            self.arguments(
                &d.arguments,
                Some(&defs[..]),
                "directive '@component'",
                scope,
            );
            if !d.arguments.iter().any(|(n, _)| n == "name") {
                self.err(
                    "Directive '@component' argument 'name' of type 'String!' is required, but it was not provided."
                        .into(),
                );
            }
        }
    }

    /// ValuesOfCorrectType for a literal, recording variable usages.
    fn literal(&mut self, value: &Value, ty: &Type, scope: &mut Scope) {
        if let Value::Variable(name) = value {
            scope.usages.push(Usage {
                name: name.clone(),
                ty: Some(ty.clone()),
            });
            return;
        }
        match ty {
            Type::NonNull(inner) => {
                if *value == Value::Null {
                    self.err(format!("Expected value of type '{ty}', found null."));
                } else {
                    self.literal(value, inner, scope);
                }
            }
            Type::List(inner) => match value {
                Value::List(items) => items.iter().for_each(|v| self.literal(v, inner, scope)),
                other => self.literal(other, inner, scope),
            },
            Type::Named(name) => {
                if *value == Value::Null {
                    return;
                }
                let Some(t) = self.schema.get(name) else {
                    return;
                };
                match t.kind {
                    Kind::InputObject => {
                        let Value::Object(fields) = value else {
                            self.err(format!(
                                "Expected value of type '{name}', found {}.",
                                print_value(value)
                            ));
                            return;
                        };
                        let mut seen = HashSet::new();
                        for (fname, fvalue) in fields {
                            match t.field(fname) {
                                None => {
                                    let suggestions =
                                        suggestion_list(fname, t.fields.iter().map(|f| f.name));
                                    self.err(format!(
                                        "Field '{fname}' is not defined by type '{name}'.{}",
                                        did_you_mean(&suggestions)
                                    ));
                                }
                                Some(fdef) => self.literal(fvalue, &fdef.ty, scope),
                            }
                            if !seen.insert(fname.as_str()) {
                                self.err(format!(
                                    "There can be only one input field named '{fname}'."
                                ));
                            }
                        }
                    }
                    Kind::Enum => {
                        if let Err(e) = enum_literal(value, name, t.enum_values) {
                            self.err(e);
                        }
                    }
                    Kind::Scalar => {
                        if let Err(e) = scalar_literal(value, name) {
                            self.err(e);
                        }
                    }
                    Kind::Object => {}
                }
            }
        }
    }

    /// OverlappingFieldsCanBeMerged for the fields of one selection set:
    /// one response key, one field and one set of arguments.
    fn overlaps(&mut self, set: &[Selection], parent: &str) {
        let mut fields: Vec<&Field> = Vec::new();
        let mut visited = HashSet::new();
        flatten(self.doc, set, parent, &mut fields, &mut visited);
        let mut reported = HashSet::new();
        for (i, a) in fields.iter().enumerate() {
            for b in &fields[i + 1..] {
                let key = a.response_key();
                if key != b.response_key() || reported.contains(key) {
                    continue;
                }
                let reason = if a.name != b.name {
                    Some(format!(
                        "'{}' and '{}' are different fields",
                        a.name, b.name
                    ))
                } else if !same_arguments(&a.arguments, &b.arguments) {
                    Some("they have differing arguments".to_string())
                } else {
                    None
                };
                if let Some(reason) = reason {
                    reported.insert(key);
                    self.err(format!(
                        "Fields '{key}' conflict because {reason}. Use different aliases on the fields to fetch both if this was intentional."
                    ));
                }
            }
        }
    }
}

fn same_arguments(a: &[(String, Value)], b: &[(String, Value)]) -> bool {
    a.len() == b.len()
        && a.iter().all(|(n, v)| {
            b.iter()
                .any(|(m, w)| m == n && print_value(v) == print_value(w))
        })
}

/// The fields of a selection set with fragments that apply to `parent`
/// merged in.
fn flatten<'d>(
    doc: &'d Document,
    set: &'d [Selection],
    parent: &str,
    out: &mut Vec<&'d Field>,
    visited: &mut HashSet<&'d str>,
) {
    for sel in set {
        match sel {
            Selection::Field(f) => out.push(f),
            Selection::InlineFragment {
                type_condition,
                selection_set,
                ..
            } => {
                if type_condition.as_deref().is_none_or(|c| c == parent) {
                    flatten(doc, selection_set, parent, out, visited);
                }
            }
            Selection::FragmentSpread { name, .. } => {
                if let Some(f) = doc.fragment(name) {
                    if f.type_condition == parent && visited.insert(f.name.as_str()) {
                        flatten(doc, &f.selection_set, parent, out, visited);
                    }
                }
            }
        }
    }
}

fn collect_spreads(set: &[Selection], out: &mut Vec<String>) {
    for sel in set {
        match sel {
            Selection::Field(f) => {
                if let Some(s) = &f.selection_set {
                    collect_spreads(s, out);
                }
            }
            Selection::FragmentSpread { name, .. } => out.push(name.clone()),
            Selection::InlineFragment { selection_set, .. } => collect_spreads(selection_set, out),
        }
    }
}

fn enum_literal(value: &Value, name: &str, values: &[&str]) -> Result<(), String> {
    match value {
        Value::Enum(v) if values.contains(&v.as_str()) => Ok(()),
        Value::Enum(v) => Err(format!(
            "Value '{v}' does not exist in '{name}' enum.{}",
            did_you_mean_with(
                Some("the enum value"),
                &suggestion_list(v, values.iter().copied())
            )
        )),
        other => {
            let printed = print_value(other);
            Err(format!(
                "Enum '{name}' cannot represent non-enum value: {printed}.{}",
                did_you_mean_with(
                    Some("the enum value"),
                    &suggestion_list(&printed, values.iter().copied())
                )
            ))
        }
    }
}

fn scalar_literal(value: &Value, name: &str) -> Result<(), String> {
    let printed = print_value(value);
    match (name, value) {
        ("String", Value::String(_))
        | ("Float", Value::Int(_) | Value::Float(_))
        | ("Boolean", Value::Boolean(_))
        | ("ID", Value::String(_) | Value::Int(_))
        // LongString reads an int literal and takes anything else as null.
        | ("LongString", _) => Ok(()),
        ("Int", Value::Int(text)) => match text.parse::<i64>() {
            Ok(n) if (INT_MIN..=INT_MAX).contains(&n) => Ok(()),
            _ => Err(format!(
                "Int cannot represent non 32-bit signed integer value: {text}"
            )),
        },
        ("String", _) => Err(format!("String cannot represent a non string value: {printed}")),
        ("Int", _) => Err(format!("Int cannot represent non-integer value: {printed}")),
        ("Float", _) => Err(format!("Float cannot represent non numeric value: {printed}")),
        ("Boolean", _) => Err(format!(
            "Boolean cannot represent a non boolean value: {printed}"
        )),
        ("ID", _) => Err(format!(
            "ID cannot represent a non-string and non-integer value: {printed}"
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graphql::parser::parse;

    fn errors(q: &str) -> Vec<String> {
        validate(&parse(q).unwrap())
    }

    #[test]
    fn the_ui_queries_are_valid() {
        assert!(errors(r#"query MlflowGetExperimentQuery($input: MlflowGetExperimentInput) @component(name: "MLflow.ExperimentRunTracking") { mlflowGetExperiment(input: $input) { apiError { code message } experiment { artifactLocation creationTime effectiveTraceArchivalRetention experimentId lastUpdateTime lifecycleStage name tags { key value } } } }"#).is_empty());
        assert!(errors("query GetMetricHistoryBulkInterval($data: MlflowGetMetricHistoryBulkIntervalInput!) @component(name: \"x\") { mlflowGetMetricHistoryBulkInterval(input: $data) { __typename metrics { timestamp step runId key value } apiError { code message } } }").is_empty());
    }

    #[test]
    fn messages_match_graphql_core() {
        assert_eq!(
            errors(
                r#"{ mlflowGetExperiment(input: {experimentId: "1"}) { experiment { bogus } } }"#
            ),
            ["Cannot query field 'bogus' on type 'MlflowExperiment'. Did you mean 'tags'?"]
        );
        assert_eq!(
            errors(
                r#"{ mlflowSearchRuns(inpt: {experimentIds: ["1"]}) { runs { info { runId } } } }"#
            ),
            ["Unknown argument 'inpt' on field 'Query.mlflowSearchRuns'. Did you mean 'input'?"]
        );
        assert_eq!(
            errors(r#"{ mlflowSearchRuns(input: {}) { runs { info } } }"#),
            ["Field 'info' of type 'MlflowRunInfo' must have a selection of subfields. Did you mean 'info { ... }'?"]
        );
        assert_eq!(
            errors(r#"{ mlflowSearchRuns(input: {}) { runs { info { runId { x } } } } }"#),
            ["Field 'runId' must not have a selection since type 'String' has no subfields."]
        );
        assert_eq!(
            errors("{ mlflowSearchRuns(input: {runViewType: BOGUS}) { nextPageToken } }"),
            ["Value 'BOGUS' does not exist in 'MlflowViewType' enum."]
        );
        assert_eq!(
            errors("{ mlflowSearchRuns(input: {bogus: 1}) { nextPageToken } }"),
            ["Field 'bogus' is not defined by type 'MlflowSearchRunsInput'."]
        );
        assert_eq!(
            errors("{ mlflowGetExperiment(input: {experimentId: 1}) { apiError { code } } }"),
            ["String cannot represent a non string value: 1"]
        );
        assert_eq!(
            errors(r#"{ mlflowGetExperiment(input: "1") { apiError { code } } }"#),
            ["Expected value of type 'MlflowGetExperimentInput', found \"1\"."]
        );
        assert_eq!(
            errors(
                r#"{ mlflowGetMetricHistoryBulkInterval(input: {startStep: "1"}) { apiError { code } } }"#
            ),
            ["Int cannot represent non-integer value: \"1\""]
        );
        assert_eq!(
            errors("{ mlflowGetExperiment(input: {}) @include(if: true) { __typename } }"),
            ["Unknown directive '@include'."]
        );
        assert_eq!(
            errors(r#"{ __typename @component(name: "x") }"#),
            ["Directive '@component' may not be used on field."]
        );
        assert_eq!(
            errors("query @component { __typename }"),
            ["Directive '@component' argument 'name' of type 'String!' is required, but it was not provided."]
        );
        assert_eq!(
            errors("{ mlflowGetExperiment(input: {}) { ... on MlflowRun { info { runId } } } }"),
            ["Unknown type 'MlflowRun'. Did you mean 'MlflowRunTag', 'MlflowParam', 'MlflowRunData', or 'MlflowRunInfo'?"]
        );
    }

    #[test]
    fn variables_and_fragments() {
        assert_eq!(
            errors("query Q($d: String) { mlflowGetRun(input: $d) { apiError { code } } }"),
            ["Variable '$d' of type 'String' used in position expecting type 'MlflowGetRunInput'."]
        );
        assert_eq!(
            errors("query Q($d: MlflowGetRunInput, $e: Int) { mlflowGetRun(input: $x) { apiError { code } } }"),
            [
                "Variable '$x' is not defined by operation 'Q'.",
                "Variable '$d' is never used in operation 'Q'.",
                "Variable '$e' is never used in operation 'Q'."
            ]
        );
        assert_eq!(
            errors("query Q { ...F } fragment F on Query { __typename } fragment G on Query { __typename }"),
            ["Fragment 'G' is never used."]
        );
        assert_eq!(errors("query Q { ...H }"), ["Unknown fragment 'H'."]);
        assert_eq!(
            errors("{ ...X } fragment X on Query { ...Y } fragment Y on Query { ...X }"),
            ["Cannot spread fragment 'X' within itself via 'Y'."]
        );
        assert_eq!(
            errors("query Q { __typename } query Q { __typename }"),
            ["There can be only one operation named 'Q'."]
        );
        assert_eq!(errors("{ __typename } { __typename }").len(), 2);
        assert!(errors("query Q($i: MlflowGetRunInput!) { ...F } fragment F on Query { mlflowGetRun(input: $i) { apiError { code } } }").is_empty());
        assert_eq!(
            errors(r#"{ a: test(inputString: "1") { output } a: test(inputString: "2") { output } }"#),
            ["Fields 'a' conflict because they have differing arguments. Use different aliases on the fields to fetch both if this was intentional."]
        );
    }
}
