//! Page tokens as MLflow 3.17.2's SQL store writes and reads them
//! (`SearchUtils.create_page_token` / `parse_start_offset_from_page_token`):
//! standard base64 of the JSON `{"offset": N}` as Python's `json.dumps`
//! writes it, e.g. `eyJvZmZzZXQiOiAxfQ==` for offset 1.

use super::{SearchError, SearchResult};
use crate::pycompat as py;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::Value;

/// The token for the page starting at `offset`.
pub fn encode_page_token(offset: usize) -> String {
    STANDARD.encode(format!("{{\"offset\": {offset}}}"))
}

/// The offset of a page token; an empty token is offset 0. Errors are
/// MLflow's: `Invalid page token, could not base64-decode`, `Invalid page
/// token, decoded value=b'…'` (not JSON), `Invalid page token, parsed
/// value={…}` (no or a zero/empty `offset`), `Invalid page token, not
/// stringable …` (`int(offset)` fails). Python's `int()` is applied to the
/// offset, so `"5"` and `5.7` are accepted. A negative offset (which MLflow
/// would pass to the database) is rejected with the `parsed value` message.
pub fn decode_page_token(token: &str) -> SearchResult<usize> {
    if token.is_empty() {
        return Ok(0);
    }
    let decoded = b64decode(token)
        .ok_or_else(|| SearchError::invalid("Invalid page token, could not base64-decode"))?;
    let parsed: Value = serde_json::from_slice(&decoded).map_err(|_| {
        SearchError::invalid(format!(
            "Invalid page token, decoded value={}",
            py::repr_bytes(&decoded)
        ))
    })?;
    let parsed_error = || {
        SearchError::invalid(format!(
            "Invalid page token, parsed value={}",
            py::repr_value(&parsed)
        ))
    };
    let offset = match &parsed {
        Value::Object(map) => map.get("offset").cloned().unwrap_or(Value::Null),
        _ => return Err(parsed_error()),
    };
    if !py::truthy(&offset) {
        return Err(parsed_error());
    }
    let not_stringable = || {
        SearchError::invalid(format!(
            "Invalid page token, not stringable {}",
            py::str_value(&offset)
        ))
    };
    let value: i128 = match &offset {
        Value::Bool(b) => i128::from(*b),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i128::from(i),
            (_, Some(u), _) => i128::from(u),
            (_, _, Some(f)) if f.is_finite() => f.trunc() as i128,
            _ => return Err(not_stringable()),
        },
        Value::String(s) => i128::from(py::parse_int(s).ok_or_else(not_stringable)?),
        _ => return Err(not_stringable()),
    };
    usize::try_from(value).map_err(|_| parsed_error())
}

/// `base64.b64decode(s)` (non-strict): characters outside the alphabet are
/// skipped, decoding stops at the padding, and a dangling character or a
/// missing padding is an error. Non-ASCII input is an error too.
fn b64decode(s: &str) -> Option<Vec<u8>> {
    if !s.is_ascii() {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let mut quad_pos = 0u8;
    let mut left: u32 = 0;
    let mut pads = 0u8;
    for b in s.bytes() {
        if b == b'=' {
            if quad_pos >= 2 {
                pads += 1;
                if quad_pos + pads >= 4 {
                    return Some(out);
                }
            }
            continue;
        }
        let Some(v) = sextet(b) else {
            continue;
        };
        pads = 0;
        match quad_pos {
            0 => {
                left = v;
                quad_pos = 1;
            }
            1 => {
                out.push(((left << 2) | (v >> 4)) as u8);
                left = v & 0x0f;
                quad_pos = 2;
            }
            2 => {
                out.push(((left << 4) | (v >> 2)) as u8);
                left = v & 0x03;
                quad_pos = 3;
            }
            _ => {
                out.push(((left << 6) | v) as u8);
                quad_pos = 0;
            }
        }
    }
    (quad_pos == 0).then_some(out)
}

fn sextet(b: u8) -> Option<u32> {
    Some(match b {
        b'A'..=b'Z' => u32::from(b - b'A'),
        b'a'..=b'z' => u32::from(b - b'a') + 26,
        b'0'..=b'9' => u32::from(b - b'0') + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(json: &str) -> String {
        STANDARD.encode(json)
    }

    fn err(r: SearchResult<usize>) -> String {
        let e = crate::error::ApiError::from(r.expect_err("expected an error"));
        assert_eq!(e.code, crate::error::ErrorCode::InvalidParameterValue);
        e.message
    }

    #[test]
    fn encodes_like_python() {
        assert_eq!(encode_page_token(1), "eyJvZmZzZXQiOiAxfQ==");
        assert_eq!(encode_page_token(1000), token("{\"offset\": 1000}"));
    }

    #[test]
    fn round_trip() {
        for offset in [1usize, 2, 10, 1000, 50_000, 123_456_789] {
            assert_eq!(decode_page_token(&encode_page_token(offset)), Ok(offset));
        }
        assert_eq!(decode_page_token(""), Ok(0));
    }

    #[test]
    fn lenient_base64_like_python() {
        // unpadded tail characters outside the alphabet are skipped
        assert_eq!(decode_page_token("eyJvZmZzZXQiOiAxfQ==!!"), Ok(1));
        assert_eq!(decode_page_token("eyJvZmZz\nZXQiOiAxfQ=="), Ok(1));
        // missing padding
        assert_eq!(
            err(decode_page_token("eyJvZmZzZXQiOiAxfQ")),
            "Invalid page token, could not base64-decode"
        );
        assert_eq!(
            err(decode_page_token("not-base64!")),
            "Invalid page token, could not base64-decode"
        );
        assert_eq!(
            err(decode_page_token("é")),
            "Invalid page token, could not base64-decode"
        );
    }

    #[test]
    fn not_json() {
        assert_eq!(
            err(decode_page_token(&token("not json"))),
            "Invalid page token, decoded value=b'not json'"
        );
        assert_eq!(
            err(decode_page_token("abcd")),
            "Invalid page token, decoded value=b'i\\xb7\\x1d'"
        );
    }

    #[test]
    fn bad_offsets() {
        assert_eq!(
            err(decode_page_token(&token("{\"offset\": 0}"))),
            "Invalid page token, parsed value={'offset': 0}"
        );
        assert_eq!(
            err(decode_page_token(&token("{}"))),
            "Invalid page token, parsed value={}"
        );
        assert_eq!(
            err(decode_page_token(&token("{\"offset\": \"\"}"))),
            "Invalid page token, parsed value={'offset': ''}"
        );
        assert_eq!(
            err(decode_page_token(&token("{\"offset\": \"abc\"}"))),
            "Invalid page token, not stringable abc"
        );
        assert_eq!(
            err(decode_page_token(&token("{\"offset\": -5}"))),
            "Invalid page token, parsed value={'offset': -5}"
        );
        assert_eq!(
            err(decode_page_token(&token("[1]"))),
            "Invalid page token, parsed value=[1]"
        );
        assert_eq!(
            err(decode_page_token(&token("{\"offset\": [1]}"))),
            "Invalid page token, not stringable [1]"
        );
    }

    #[test]
    fn python_int_of_offset() {
        assert_eq!(decode_page_token(&token("{\"offset\": \" 7 \"}")), Ok(7));
        assert_eq!(decode_page_token(&token("{\"offset\": 5.7}")), Ok(5));
        assert_eq!(decode_page_token(&token("{\"offset\": true}")), Ok(1));
        assert_eq!(decode_page_token(&token("{\"offset\":3,\"x\":1}")), Ok(3));
    }
}
