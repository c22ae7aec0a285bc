//! Lenient deserializers for MLflow's JSON: int64 as number or numeric
//! string, doubles including `"NaN"`/`"Infinity"`/`"-Infinity"`, enums by
//! name or number. Type errors with MLflow's wording are raised earlier by
//! [`crate::request`]; these only convert.

use serde::de::{Deserializer, Error};
use serde::Deserialize;
use serde_json::Value;

fn value_to_i64<E: Error>(v: &Value) -> Result<i64, E> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
            .ok_or_else(|| E::custom(format!("{n} is not a 64-bit integer"))),
        Value::String(s) => s
            .trim()
            .parse::<i64>()
            .map_err(|_| E::custom(format!("'{s}' is not a 64-bit integer"))),
        other => Err(E::custom(format!("{other} is not a 64-bit integer"))),
    }
}

pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(v) => value_to_i64(&v).map(Some),
    }
}

/// Parses a double the way MLflow's JSON reader does, including the
/// non-finite spellings the Python client sends.
pub fn parse_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        Value::String(s) => match s.trim() {
            "NaN" | "nan" => Some(f64::NAN),
            "Infinity" | "inf" => Some(f64::INFINITY),
            "-Infinity" | "-inf" => Some(f64::NEG_INFINITY),
            t => t.parse::<f64>().ok(),
        },
        _ => None,
    }
}

pub fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(v) => parse_f64(&v)
            .map(Some)
            .ok_or_else(|| D::Error::custom(format!("{v} is not a number"))),
    }
}

/// A field that must be a JSON string when present (numbers are refused by
/// the schema check beforehand).
pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(D::Error::custom(format!("{other} is not a string"))),
    }
}

/// Declares an MLflow enum that deserializes from its name or its number; an
/// unknown name gives `None` (MLflow silently falls back to the default).
#[macro_export]
macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $num:literal => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            pub fn from_name(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
            pub fn from_number(n: i64) -> Option<Self> {
                match n { $($num => Some($name::$variant),)+ _ => None }
            }
            pub fn from_json(v: &serde_json::Value) -> Option<Self> {
                match v {
                    serde_json::Value::String(s) => Self::from_name(s)
                        .or_else(|| s.parse::<i64>().ok().and_then(Self::from_number)),
                    serde_json::Value::Number(n) => n.as_i64().and_then(Self::from_number),
                    _ => None,
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            /// Deserialized only through `Option<$name>` with `lenient_enum`.
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let v = serde_json::Value::deserialize(d)?;
                Self::from_json(&v).ok_or_else(|| <D::Error as serde::de::Error>::custom(format!("unknown value {v}")))
            }
        }
    };
}

/// For `Option<SomeEnum>` fields: unknown names become `None`.
pub fn lenient_enum<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let v = Option::<Value>::deserialize(d)?;
    Ok(v.and_then(|v| serde_json::from_value::<T>(v).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_spellings() {
        assert!(parse_f64(&Value::String("NaN".into())).unwrap().is_nan());
        assert_eq!(
            parse_f64(&Value::String("Infinity".into())),
            Some(f64::INFINITY)
        );
        assert_eq!(
            parse_f64(&Value::String("-Infinity".into())),
            Some(f64::NEG_INFINITY)
        );
        assert_eq!(parse_f64(&Value::String("0.5".into())), Some(0.5));
        assert_eq!(parse_f64(&Value::Bool(true)), Some(1.0));
        assert_eq!(parse_f64(&Value::String("abc".into())), None);
    }

    #[test]
    fn int64_from_string_or_number() {
        let v: Result<i64, serde_json::Error> = value_to_i64(&serde_json::json!("17"));
        assert_eq!(v.unwrap(), 17);
        let v: Result<i64, serde_json::Error> = value_to_i64(&serde_json::json!(1795893346239i64));
        assert_eq!(v.unwrap(), 1795893346239);
        let v: Result<i64, serde_json::Error> = value_to_i64(&serde_json::json!("x"));
        assert!(v.is_err());
    }
}
