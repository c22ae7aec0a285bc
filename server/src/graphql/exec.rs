//! Execution: operation selection, variable coercion (graphql-core's
//! messages), field collection over fragments, and completion of resolved
//! values against the schema (null propagation, LongString as strings,
//! enums by name, non-finite floats as field errors).

use super::parser::{Document, Field, Operation, OperationKind, Selection, Type, Value};
use super::resolve::{Data, Resolver};
use super::schema::{schema, Kind, Schema, TypeDef};
use super::suggest::{did_you_mean, did_you_mean_with, suggestion_list};
use crate::pycompat::{repr_float, repr_value};
use futures_util::future::{FutureExt, LocalBoxFuture};
use serde_json::{Map, Value as Json};

/// What an executed request yields: `data` is `None` when execution never
/// started (a bad operation name or variables).
pub struct Outcome {
    pub data: Option<Json>,
    pub errors: Vec<String>,
}

impl Outcome {
    fn failed(errors: Vec<String>) -> Outcome {
        Outcome { data: None, errors }
    }
}

fn select_operation<'d>(doc: &'d Document, name: Option<&str>) -> Result<&'d Operation, String> {
    match name {
        Some(n) => doc
            .operations()
            .find(|o| o.name.as_deref() == Some(n))
            .ok_or_else(|| format!("Unknown operation named '{n}'.")),
        None => {
            let mut ops = doc.operations();
            match (ops.next(), ops.next()) {
                (Some(op), None) => Ok(op),
                (None, _) => Err("Must provide an operation.".into()),
                (Some(_), Some(_)) => {
                    Err("Must provide operation name if query contains multiple operations.".into())
                }
            }
        }
    }
}

/// One coercion failure below a variable: where, what was there, why.
struct InputError {
    path: String,
    value: Json,
    message: String,
}

fn int_value(v: &Json) -> Option<i64> {
    match v {
        Json::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.is_finite())
                .map(|f| f as i64)
        }),
        _ => None,
    }
}

/// Python's `int(value)`, as LongString's `parse_value` calls it.
fn python_int(v: &Json) -> Result<i64, String> {
    match v {
        Json::Bool(b) => Ok(i64::from(*b)),
        Json::Number(n) => match n.as_i64() {
            Some(i) => Ok(i),
            None => n
                .as_f64()
                .filter(|f| f.is_finite())
                .map(|f| f.trunc() as i64)
                .ok_or_else(|| "cannot convert float infinity to integer".to_string()),
        },
        Json::String(s) => s
            .trim()
            .replace('_', "")
            .parse::<i64>()
            .map_err(|_| format!("invalid literal for int() with base 10: {}", repr_value(v))),
        Json::Array(_) => Err(
            "int() argument must be a string, a bytes-like object or a real number, not 'list'"
                .into(),
        ),
        _ => Err(
            "int() argument must be a string, a bytes-like object or a real number, not 'dict'"
                .into(),
        ),
    }
}

fn coerce_scalar(name: &str, v: &Json) -> Result<Json, String> {
    let shown = repr_value(v);
    match name {
        "String" => match v {
            Json::String(_) => Ok(v.clone()),
            _ => Err(format!(
                "String cannot represent a non string value: {shown}"
            )),
        },
        "Int" => match int_value(v) {
            Some(i) if (i32::MIN as i64..=i32::MAX as i64).contains(&i) => Ok(Json::from(i)),
            Some(_) => Err(format!(
                "Int cannot represent non 32-bit signed integer value: {shown}"
            )),
            None => Err(format!("Int cannot represent non-integer value: {shown}")),
        },
        "Float" => match v {
            Json::Number(_) => Ok(v.clone()),
            _ => Err(format!("Float cannot represent non numeric value: {shown}")),
        },
        "Boolean" => match v {
            Json::Bool(_) => Ok(v.clone()),
            _ => Err(format!(
                "Boolean cannot represent a non boolean value: {shown}"
            )),
        },
        "ID" => match v {
            Json::String(_) => Ok(v.clone()),
            Json::Number(n) if n.is_i64() => Ok(Json::String(n.to_string())),
            _ => Err(format!("ID cannot represent value: {shown}")),
        },
        "LongString" => python_int(v)
            .map(Json::from)
            .map_err(|e| format!("Expected type 'LongString'. {e}")),
        _ => Ok(v.clone()),
    }
}

fn coerce_input(s: &Schema, v: &Json, ty: &Type, path: &str, errors: &mut Vec<InputError>) -> Json {
    let mut fail = |message: String| {
        errors.push(InputError {
            path: path.to_string(),
            value: v.clone(),
            message,
        });
        Json::Null
    };
    match ty {
        Type::NonNull(inner) => {
            if v.is_null() {
                return fail(format!("Expected non-nullable type '{ty}' not to be null."));
            }
            coerce_input(s, v, inner, path, errors)
        }
        _ if v.is_null() => Json::Null,
        Type::List(inner) => match v {
            Json::Array(items) => Json::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| coerce_input(s, item, inner, &format!("{path}[{i}]"), errors))
                    .collect(),
            ),
            other => Json::Array(vec![coerce_input(s, other, inner, path, errors)]),
        },
        Type::Named(name) => {
            let Some(t) = s.get(name) else {
                return Json::Null;
            };
            match t.kind {
                Kind::Scalar => coerce_scalar(name, v).unwrap_or_else(fail),
                Kind::Enum => match v {
                    Json::String(name_value) if t.enum_values.contains(&name_value.as_str()) => {
                        v.clone()
                    }
                    Json::String(other) => fail(format!(
                        "Value '{other}' does not exist in '{name}' enum.{}",
                        did_you_mean_with(
                            Some("the enum value"),
                            &suggestion_list(other, t.enum_values.iter().copied())
                        )
                    )),
                    other => {
                        let shown = repr_value(other);
                        fail(format!(
                            "Enum '{name}' cannot represent non-string value: {shown}.{}",
                            did_you_mean_with(
                                Some("the enum value"),
                                &suggestion_list(&shown, t.enum_values.iter().copied())
                            )
                        ))
                    }
                },
                Kind::InputObject => {
                    let Json::Object(map) = v else {
                        return fail(format!("Expected type '{name}' to be a mapping."));
                    };
                    let mut out = Map::new();
                    for f in &t.fields {
                        if let Some(fv) = map.get(f.name) {
                            let coerced =
                                coerce_input(s, fv, &f.ty, &format!("{path}.{}", f.name), errors);
                            out.insert(f.name.to_string(), coerced);
                        }
                    }
                    for key in map.keys() {
                        if t.field(key).is_none() {
                            let suggestions = suggestion_list(key, t.fields.iter().map(|f| f.name));
                            errors.push(InputError {
                                path: path.to_string(),
                                value: v.clone(),
                                message: format!(
                                    "Field '{key}' is not defined by type '{name}'.{}",
                                    did_you_mean(&suggestions)
                                ),
                            });
                        }
                    }
                    Json::Object(out)
                }
                Kind::Object => Json::Null,
            }
        }
    }
}

/// A literal (no variables: defaults) as the value it denotes.
fn literal_json(s: &Schema, v: &Value, ty: &Type, vars: &Map<String, Json>) -> Option<Json> {
    let inner_ty = match ty {
        Type::NonNull(t) => t.as_ref(),
        t => t,
    };
    Some(match (v, inner_ty) {
        (Value::Variable(n), _) => return vars.get(n).cloned(),
        (Value::Null, _) => Json::Null,
        (Value::List(items), Type::List(item_ty)) => Json::Array(
            items
                .iter()
                .map(|i| literal_json(s, i, item_ty, vars).unwrap_or(Json::Null))
                .collect(),
        ),
        (other, Type::List(item_ty)) => Json::Array(vec![
            literal_json(s, other, item_ty, vars).unwrap_or(Json::Null)
        ]),
        (Value::Object(fields), Type::Named(name)) => {
            let mut out = Map::new();
            if let Some(t) = s.get(name) {
                for (k, fv) in fields {
                    if let Some(f) = t.field(k) {
                        if let Some(j) = literal_json(s, fv, &f.ty, vars) {
                            out.insert(k.clone(), j);
                        }
                    }
                }
            }
            Json::Object(out)
        }
        (Value::Int(text), Type::Named(name)) => match name.as_str() {
            "Float" => text.parse::<f64>().map(Json::from).unwrap_or(Json::Null),
            "String" | "ID" => Json::String(text.clone()),
            _ => text.parse::<i64>().map(Json::from).unwrap_or(Json::Null),
        },
        // `[T!]!` nested twice: validation rejects it for this schema.
        (Value::Int(text), Type::NonNull(_)) => Json::String(text.clone()),
        // LongString takes only int literals; anything else reads as null.
        (_, Type::Named(name)) if name == "LongString" => Json::Null,
        (Value::Float(text), _) => text.parse::<f64>().map(Json::from).unwrap_or(Json::Null),
        (Value::String(t) | Value::Enum(t), _) => Json::String(t.clone()),
        (Value::Boolean(b), _) => Json::Bool(*b),
        (Value::List(_), _) | (Value::Object(_), _) => Json::Null,
    })
}

/// The operation's variables, coerced, or graphql-core's messages.
fn coerce_variables(
    s: &Schema,
    op: &Operation,
    given: &Map<String, Json>,
) -> Result<Map<String, Json>, Vec<String>> {
    let mut out = Map::new();
    let mut errors = Vec::new();
    for def in &op.variables {
        let name = &def.name;
        match given.get(name) {
            None => {
                if let Some(default) = &def.default {
                    if let Some(j) = literal_json(s, default, &def.ty, &Map::new()) {
                        out.insert(name.clone(), j);
                    }
                } else if matches!(def.ty, Type::NonNull(_)) {
                    errors.push(format!(
                        "Variable '${name}' of required type '{}' was not provided.",
                        def.ty
                    ));
                }
            }
            Some(Json::Null) if matches!(def.ty, Type::NonNull(_)) => errors.push(format!(
                "Variable '${name}' of non-null type '{}' must not be null.",
                def.ty
            )),
            Some(value) => {
                let mut errs = Vec::new();
                let coerced = coerce_input(s, value, &def.ty, "", &mut errs);
                if errs.is_empty() {
                    out.insert(name.clone(), coerced);
                }
                for e in errs {
                    let at = if e.path.is_empty() {
                        String::new()
                    } else {
                        format!(" at '{name}{}'", e.path)
                    };
                    errors.push(format!(
                        "Variable '${name}' got invalid value {}{at}; {}",
                        repr_value(&e.value),
                        e.message
                    ));
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Why a value is null: a message still to record, or one already
/// recorded that must propagate to the nearest nullable field.
enum Null {
    Error(String),
    Propagate,
}

struct Executor<'a> {
    doc: &'a Document,
    schema: &'static Schema,
    vars: Map<String, Json>,
    resolver: &'a Resolver<'a>,
    errors: Vec<String>,
}

/// The fields of `set` that apply to objects of `type_name`, grouped by
/// response key in first-seen order.
fn collect_fields<'d>(
    doc: &'d Document,
    set: &'d [Selection],
    type_name: &str,
    out: &mut Vec<(String, Vec<&'d Field>)>,
    visited: &mut Vec<&'d str>,
) {
    for sel in set {
        match sel {
            Selection::Field(f) => {
                let key = f.response_key();
                match out.iter_mut().find(|(k, _)| k == key) {
                    Some((_, fields)) => fields.push(f),
                    None => out.push((key.to_string(), vec![f])),
                }
            }
            Selection::InlineFragment {
                type_condition,
                selection_set,
                ..
            } => {
                if type_condition.as_deref().is_none_or(|c| c == type_name) {
                    collect_fields(doc, selection_set, type_name, out, visited);
                }
            }
            Selection::FragmentSpread { name, .. } => {
                if visited.contains(&name.as_str()) {
                    continue;
                }
                visited.push(name);
                if let Some(frag) = doc.fragment(name) {
                    if frag.type_condition == type_name {
                        collect_fields(doc, &frag.selection_set, type_name, out, visited);
                    }
                }
            }
        }
    }
}

impl<'a> Executor<'a> {
    /// The argument values of a field: only those given (a variable that
    /// was not provided leaves its argument out, as graphql-core does).
    fn arguments(&self, field: &Field, defs: &[(&str, Type)]) -> Map<String, Json> {
        let mut out = Map::new();
        for (name, ty) in defs {
            if let Some((_, v)) = field.arguments.iter().find(|(n, _)| n == name) {
                if let Some(j) = literal_json(self.schema, v, ty, &self.vars) {
                    out.insert((*name).to_string(), j);
                }
            }
        }
        out
    }

    fn sub_fields(&self, fields: &[&'a Field], type_name: &str) -> Vec<(String, Vec<&'a Field>)> {
        let mut out = Vec::new();
        let mut visited = Vec::new();
        for f in fields {
            if let Some(set) = &f.selection_set {
                collect_fields(self.doc, set, type_name, &mut out, &mut visited);
            }
        }
        out
    }

    fn record(&mut self, r: Result<Json, Null>) -> Json {
        match r {
            Ok(j) => j,
            Err(Null::Error(m)) => {
                self.errors.push(m);
                Json::Null
            }
            Err(Null::Propagate) => Json::Null,
        }
    }

    fn complete<'s>(
        &'s mut self,
        ty: &'s Type,
        data: Data,
        fields: Vec<&'a Field>,
        label: &'s str,
    ) -> LocalBoxFuture<'s, Result<Json, Null>> {
        async move {
            match ty {
                Type::NonNull(inner) => match self.complete(inner, data, fields, label).await {
                    Ok(Json::Null) => Err(Null::Error(format!(
                        "Cannot return null for non-nullable field {label}."
                    ))),
                    Err(Null::Error(m)) => {
                        self.errors.push(m);
                        Err(Null::Propagate)
                    }
                    other => other,
                },
                Type::List(inner) => {
                    let Data::List(items) = data else {
                        return match data {
                            Data::Error(m) => Err(Null::Error(m)),
                            _ => Ok(Json::Null),
                        };
                    };
                    let mut out = Vec::with_capacity(items.len());
                    let mut nulled = false;
                    for item in items {
                        let r = self.complete(inner, item, fields.clone(), label).await;
                        match r {
                            Err(Null::Propagate) => nulled = true,
                            other => {
                                let j = self.record(other);
                                out.push(j);
                            }
                        }
                    }
                    Ok(if nulled { Json::Null } else { Json::Array(out) })
                }
                Type::Named(name) => {
                    let Some(t) = self.schema.get(name) else {
                        return Ok(Json::Null);
                    };
                    match data {
                        Data::Null => Ok(Json::Null),
                        Data::Error(m) => Err(Null::Error(m)),
                        Data::Object(values) => {
                            let obj = self.object(t, values, &fields).await;
                            Ok(obj)
                        }
                        leaf => serialize_leaf(t, leaf).map_err(Null::Error),
                    }
                }
            }
        }
        .boxed_local()
    }

    async fn object(
        &mut self,
        t: &'static TypeDef,
        values: Vec<(&'static str, Data)>,
        fields: &[&'a Field],
    ) -> Json {
        let mut out = Map::new();
        for (key, group) in self.sub_fields(fields, t.name) {
            let name = group[0].name.as_str();
            if name == "__typename" {
                out.insert(key, Json::String(t.name.to_string()));
                continue;
            }
            let Some(def) = t.field(name) else {
                continue;
            };
            // Cloned, not moved: aliases may select one field twice.
            let value = values
                .iter()
                .find(|(n, _)| *n == name)
                .map_or(Data::Null, |(_, v)| v.clone());
            let value = match value {
                Data::Lazy(lazy) => self.resolver.lazy(lazy).await,
                other => other,
            };
            let label = format!("{}.{}", t.name, def.name);
            let r = self.complete(&def.ty, value, group, &label).await;
            match r {
                Err(Null::Propagate) if matches!(def.ty, Type::NonNull(_)) => {
                    return Json::Null;
                }
                other => {
                    let j = self.record(other);
                    out.insert(key, j);
                }
            }
        }
        Json::Object(out)
    }
}

fn serialize_leaf(t: &TypeDef, data: Data) -> Result<Json, String> {
    if t.kind == Kind::Enum {
        return match data {
            Data::Str(s) if t.enum_values.contains(&s.as_str()) => Ok(Json::String(s)),
            Data::Str(s) => Err(format!(
                "Enum '{}' cannot represent value: {}",
                t.name,
                repr_value(&Json::String(s))
            )),
            Data::Int(i) => Err(format!("Enum '{}' cannot represent value: {i}", t.name)),
            _ => Ok(Json::Null),
        };
    }
    Ok(match (t.name, data) {
        ("Float", Data::Float(f)) if !f.is_finite() => {
            return Err(format!(
                "Float cannot represent non numeric value: {}",
                repr_float(f)
            ))
        }
        ("Float", Data::Float(f)) => Json::from(f),
        ("Float", Data::Int(i)) => Json::from(i as f64),
        ("LongString" | "String" | "ID", Data::Int(i)) => Json::String(i.to_string()),
        (_, Data::Str(s)) => Json::String(s),
        (_, Data::Bool(b)) => Json::Bool(b),
        (_, Data::Int(i)) => Json::from(i),
        (_, Data::Float(f)) => Json::from(f),
        _ => Json::Null,
    })
}

/// Runs one operation of a validated document.
pub async fn execute(
    doc: &Document,
    operation_name: Option<&str>,
    variables: &Map<String, Json>,
    resolver: &Resolver<'_>,
) -> Outcome {
    let s = schema();
    let op = match select_operation(doc, operation_name) {
        Ok(op) => op,
        Err(e) => return Outcome::failed(vec![e]),
    };
    let root_name = match op.kind {
        OperationKind::Query => "Query",
        OperationKind::Mutation => "Mutation",
        OperationKind::Subscription => {
            return Outcome::failed(vec![
                "Schema is not configured to execute subscription operation.".into(),
            ])
        }
    };
    let vars = match coerce_variables(s, op, variables) {
        Ok(v) => v,
        Err(errors) => return Outcome::failed(errors),
    };
    let mut ex = Executor {
        doc,
        schema: s,
        vars,
        resolver,
        errors: Vec::new(),
    };
    let Some(root) = s.get(root_name) else {
        return Outcome::failed(vec!["Schema has no root type.".into()]);
    };
    let mut fields = Vec::new();
    let mut visited = Vec::new();
    collect_fields(doc, &op.selection_set, root_name, &mut fields, &mut visited);
    let mut data = Map::new();
    for (key, group) in fields {
        let name = group[0].name.as_str();
        if name == "__typename" {
            data.insert(key, Json::String(root_name.to_string()));
            continue;
        }
        let Some(def) = root.field(name) else {
            continue;
        };
        let args = ex.arguments(group[0], &def.args);
        let value = resolver.root(op.kind, name, &args).await;
        let label = format!("{root_name}.{name}");
        let r = ex.complete(&def.ty, value, group, &label).await;
        let j = ex.record(r);
        data.insert(key, j);
    }
    Outcome {
        data: Some(Json::Object(data)),
        errors: ex.errors,
    }
}

/// Python's `jsonify` sorts keys: the response does too, at every level.
pub fn sort_keys(v: Json) -> Json {
    match v {
        Json::Object(map) => {
            let mut entries: Vec<(String, Json)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Json::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sort_keys(v)))
                    .collect(),
            )
        }
        Json::Array(items) => Json::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graphql::parser::parse;
    use serde_json::json;

    fn vars_errors(q: &str, given: Json) -> Vec<String> {
        let doc = parse(q).unwrap();
        let op = doc.operations().next().unwrap();
        let given = given.as_object().cloned().unwrap_or_default();
        coerce_variables(schema(), op, &given)
            .err()
            .unwrap_or_default()
    }

    #[test]
    fn variable_messages_match_graphql_core() {
        let q = "query Q($d: MlflowGetRunInput!) { __typename }";
        assert_eq!(
            vars_errors(q, json!({})),
            ["Variable '$d' of required type 'MlflowGetRunInput!' was not provided."]
        );
        assert_eq!(
            vars_errors(q, json!({"d": {"runId": 5}})),
            ["Variable '$d' got invalid value 5 at 'd.runId'; String cannot represent a non string value: 5"]
        );
        assert_eq!(
            vars_errors(q, json!({"d": {"runI": "x"}})),
            ["Variable '$d' got invalid value {'runI': 'x'}; Field 'runI' is not defined by type 'MlflowGetRunInput'. Did you mean 'runId'?"]
        );
        let q = "query ($m: LongString) { __typename }";
        assert_eq!(
            vars_errors(q, json!({"m": "x"})),
            ["Variable '$m' got invalid value 'x'; Expected type 'LongString'. invalid literal for int() with base 10: 'x'"]
        );
        assert!(vars_errors(q, json!({"m": "12"})).is_empty());
        let q = "query ($v: MlflowSearchRunsInput) { __typename }";
        assert_eq!(
            vars_errors(q, json!({"v": {"runViewType": "BOGUS", "experimentIds": ["1", 2]}})),
            [
                "Variable '$v' got invalid value 2 at 'v.experimentIds[1]'; String cannot represent a non string value: 2",
                "Variable '$v' got invalid value 'BOGUS' at 'v.runViewType'; Value 'BOGUS' does not exist in 'MlflowViewType' enum."
            ]
        );
    }

    #[test]
    fn literals_and_list_coercion() {
        let s = schema();
        let ty = Type::List(Box::new(Type::Named("String".into())));
        assert_eq!(
            literal_json(s, &Value::String("1".into()), &ty, &Map::new()),
            Some(json!(["1"]))
        );
        let ty = Type::Named("LongString".into());
        assert_eq!(
            literal_json(s, &Value::Int("7".into()), &ty, &Map::new()),
            Some(json!(7))
        );
        assert_eq!(
            literal_json(s, &Value::String("7".into()), &ty, &Map::new()),
            Some(Json::Null)
        );
        assert_eq!(
            literal_json(s, &Value::Variable("x".into()), &ty, &Map::new()),
            None
        );
        assert_eq!(python_int(&json!(" 5 ")), Ok(5));
        assert_eq!(python_int(&json!(2.9)), Ok(2));
    }

    #[test]
    fn keys_are_sorted_and_leaves_serialized() {
        assert_eq!(
            sort_keys(json!({"b": 1, "a": {"d": 1, "c": [{"f": 1, "e": 2}]}})).to_string(),
            r#"{"a":{"c":[{"e":2,"f":1}],"d":1},"b":1}"#
        );
        let s = schema();
        let long = s.get("LongString").unwrap();
        assert_eq!(serialize_leaf(long, Data::Int(5)), Ok(json!("5")));
        let float = s.get("Float").unwrap();
        assert_eq!(
            serialize_leaf(float, Data::Float(f64::NAN)),
            Err("Float cannot represent non numeric value: nan".to_string())
        );
        let status = s.get("MlflowDeploymentJobConnectionState").unwrap();
        assert_eq!(
            serialize_leaf(status, Data::Int(0)),
            Err("Enum 'MlflowDeploymentJobConnectionState' cannot represent value: 0".to_string())
        );
    }
}
