//! `json.dumps` with Python's defaults.

use serde_json::Value;

/// `json.dumps(value)` with Python's defaults (`", "` and `": "`
/// separators, `ensure_ascii`), keeping the key order of `value` (the
/// crate's `serde_json` preserves insertion order). MLflow writes
/// `mlflow.log-model.history` and page tokens this way.
pub fn dumps(value: &Value) -> String {
    let mut out = String::new();
    write_python_json(value, &mut out);
    out
}

fn write_python_json(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(n) => {
            if n.is_i64() || n.is_u64() {
                out.push_str(&n.to_string());
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                if f.is_nan() {
                    out.push_str("NaN");
                } else if f.is_infinite() {
                    out.push_str(if f > 0.0 { "Infinity" } else { "-Infinity" });
                } else {
                    out.push_str(&super::repr_float(f));
                }
            }
        }
        Value::String(s) => out.push_str(&super::json_dumps_str(s)),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_python_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&super::json_dumps_str(k));
                out.push_str(": ");
                write_python_json(v, out);
            }
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_dumps_matches_json_module() {
        let v: Value = serde_json::from_str(
            r#"{"b": 1, "a": [1.0, 2.5, "é", null, true], "c": {"x": "q\""}, "d": 1e-7}"#,
        )
        .unwrap();
        assert_eq!(
            dumps(&v),
            r#"{"b": 1, "a": [1.0, 2.5, "\u00e9", null, true], "c": {"x": "q\""}, "d": 1e-07}"#
        );
    }

    #[test]
    fn floats_are_written_as_python_writes_them() {
        let v = serde_json::json!([1e20, 100.0, -0.0, 0.0001]);
        assert_eq!(dumps(&v), "[1e+20, 100.0, -0.0, 0.0001]");
    }
}
