//! Edge Impulse data-acquisition JSON, and its HMAC-SHA256 signature.
//!
//! Signature check (only when the caller gives an HMAC key): Edge Impulse signs a file by writing it
//! with `"signature"` set to 64 zeros, computing HMAC-SHA256 (key = the HMAC key's text as UTF-8 bytes)
//! over those exact bytes, and putting the lowercase hex digest in place of the zeros. So we take the
//! file's bytes, put the 64 zeros back in place of the signature value, and recompute. This works
//! whatever JSON serializer wrote the file (compact, or Python's `json.dumps` with spaces), because
//! no re-serialization is involved.

use std::path::Path;

use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::error::{ImportError, ImportErrorKind, Location};
use crate::import::{ParsedFile, ParsedValues, canonical_rate};

/// The placeholder Edge Impulse puts in `signature` while signing, and in unsigned files.
pub const EMPTY_SIGNATURE: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Parses an Edge Impulse JSON file; with an `hmac_key` it must be signed with it. `path` only names
/// the file in errors.
pub fn parse(path: &Path, bytes: &[u8], hmac_key: Option<&str>) -> Result<ParsedFile, ImportError> {
    let field_error = |field: &str, message: String| {
        ImportError::new(path, Location::Field(field.to_string()), ImportErrorKind::Json, message)
    };
    let root: Value = serde_json::from_slice(bytes).map_err(|error| {
        let text = error.to_string();
        let message = text.split(" at line ").next().unwrap_or(&text).to_string();
        ImportError::new(
            path,
            Location::Line { line: error.line(), column: None },
            ImportErrorKind::Json,
            format!("expected valid JSON: {message} (column {})", error.column()),
        )
    })?;
    let Value::Object(root) = root else {
        return Err(field_error(
            "(root)",
            format!("expected an object with `protected`, `signature` and `payload`, found {}", kind(&root)),
        ));
    };
    let protected = match root.get("protected") {
        Some(Value::Object(protected)) => protected,
        other => return Err(field_error("protected", expected("an object with `ver` and `alg`", other))),
    };
    let alg = match protected.get("alg") {
        Some(Value::String(alg)) if alg == "HS256" || alg == "none" => alg.as_str(),
        other => return Err(field_error("protected.alg", expected("\"HS256\" or \"none\"", other))),
    };
    let signature = match root.get("signature") {
        Some(Value::String(signature)) => signature.as_str(),
        other => return Err(field_error("signature", expected("a string (64 hex digits)", other))),
    };
    let payload = match root.get("payload") {
        Some(Value::Object(payload)) => payload,
        other => return Err(field_error("payload", expected("an object with the sensor data", other))),
    };
    let device_type = match payload.get("device_type") {
        Some(Value::String(device_type)) => device_type.clone(),
        other => return Err(field_error("payload.device_type", expected("a string", other))),
    };
    let device_name = match payload.get("device_name") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some(name.clone()),
        other => return Err(field_error("payload.device_name", expected("a string", other))),
    };
    let interval_ms = match payload.get("interval_ms") {
        Some(Value::Number(number)) if number.as_f64().is_some_and(|ms| ms.is_finite() && ms > 0.0) => {
            number.as_f64().unwrap_or_default()
        }
        other => {
            return Err(field_error("payload.interval_ms", expected("a number of milliseconds > 0", other)));
        }
    };
    let rate_hz = canonical_rate(1000.0 / interval_ms);
    if !rate_hz.is_finite() {
        return Err(field_error(
            "payload.interval_ms",
            format!("expected an interval that gives a finite rate, found {interval_ms:e} ms"),
        ));
    }
    let sensors = match payload.get("sensors") {
        Some(Value::Array(sensors)) if !sensors.is_empty() => sensors,
        other => {
            return Err(field_error(
                "payload.sensors",
                expected("a non-empty list of {\"name\", \"units\"}", other),
            ));
        }
    };
    let mut axes = Vec::with_capacity(sensors.len());
    for (index, sensor) in sensors.iter().enumerate() {
        let name = match sensor.get("name") {
            Some(Value::String(name)) if !name.is_empty() => name.clone(),
            other => {
                return Err(field_error(
                    &format!("payload.sensors[{index}].name"),
                    expected("a non-empty string", other),
                ));
            }
        };
        let units = match sensor.get("units") {
            Some(Value::String(units)) => units.clone(),
            other => {
                return Err(field_error(
                    &format!("payload.sensors[{index}].units"),
                    expected("a string", other),
                ));
            }
        };
        if axes.iter().any(|(existing, _): &(String, String)| *existing == name) {
            return Err(field_error(
                &format!("payload.sensors[{index}].name"),
                format!("expected unique sensor names, `{name}` is listed twice"),
            ));
        }
        axes.push((name, units));
    }
    let rows = match payload.get("values") {
        Some(Value::Array(rows)) if !rows.is_empty() => rows,
        other => {
            return Err(field_error(
                "payload.values",
                expected("a non-empty list of rows, one per interval", other),
            ));
        }
    };
    let n_axes = axes.len();
    let mut values = Vec::with_capacity(rows.len() * n_axes);
    for (row_index, row) in rows.iter().enumerate() {
        match row {
            Value::Number(number) if n_axes == 1 => values.push(number.as_f64().unwrap_or(f64::NAN)),
            Value::Array(items) if items.len() == n_axes => {
                for (axis, item) in items.iter().enumerate() {
                    match item.as_f64() {
                        Some(value) => values.push(value),
                        None => {
                            return Err(field_error(
                                &format!("payload.values[{row_index}][{axis}]"),
                                expected("a number", Some(item)),
                            ));
                        }
                    }
                }
            }
            Value::Array(items) => {
                return Err(field_error(
                    &format!("payload.values[{row_index}]"),
                    format!("expected {n_axes} numbers (one per sensor), found {}", items.len()),
                ));
            }
            other => {
                return Err(field_error(
                    &format!("payload.values[{row_index}]"),
                    expected(&format!("a list of {n_axes} numbers"), Some(other)),
                ));
            }
        }
    }
    if let Some(key) = hmac_key {
        if alg != "HS256" {
            return Err(ImportError::new(
                path,
                Location::Field("protected.alg".into()),
                ImportErrorKind::Signature,
                format!("expected a signed file (\"HS256\") because an HMAC key was given, found \"{alg}\""),
            ));
        }
        verify_signature(path, bytes, signature, key)?;
    }
    Ok(ParsedFile {
        axes,
        rate_hz,
        values: ParsedValues::Physical(values),
        sensor: None,
        device: Some(device_name.unwrap_or(device_type)),
        created: None,
    })
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn expected(what: &str, found: Option<&Value>) -> String {
    match found {
        None => format!("expected {what}, the field is missing"),
        Some(value) => format!("expected {what}, found {}", kind(value)),
    }
}

/// HMAC-SHA256 (lowercase hex) of `bytes`, as Edge Impulse signs: `bytes` must hold the 64-zero
/// placeholder in `signature`.
pub fn sign(bytes: &[u8], key: &str) -> String {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
    mac.update(bytes);
    crate::recording::hex(&mac.finalize().into_bytes())
}

fn verify_signature(path: &Path, bytes: &[u8], signature: &str, key: &str) -> Result<(), ImportError> {
    let error = |message: String| {
        ImportError::new(path, Location::Field("signature".into()), ImportErrorKind::Signature, message)
    };
    if signature.len() != 64 || !signature.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return Err(error(format!("expected 64 hex digits (HMAC-SHA256), found `{signature}`")));
    }
    let Some(start) = signature_value_offset(bytes, signature) else {
        return Err(error("expected the signature as a plain string value in the file".into()));
    };
    let mut signed = bytes.to_vec();
    signed[start..start + 64].copy_from_slice(EMPTY_SIGNATURE.as_bytes());
    let actual = sign(&signed, key);
    // Constant-time comparison is not needed for an offline file check, but costs nothing.
    let matches =
        actual.bytes().zip(signature.to_ascii_lowercase().bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if !matches {
        return Err(error("HMAC-SHA256 mismatch: the file was changed after signing, or the HMAC key is not the one it was signed with".into()));
    }
    Ok(())
}

/// The byte offset of the signature value after the top-level `"signature":` key.
fn signature_value_offset(bytes: &[u8], signature: &str) -> Option<usize> {
    let key = b"\"signature\"";
    let mut from = 0;
    while let Some(found) = find(&bytes[from..], key) {
        let mut position = from + found + key.len();
        while bytes.get(position).is_some_and(u8::is_ascii_whitespace) {
            position += 1;
        }
        if bytes.get(position) == Some(&b':') {
            position += 1;
            while bytes.get(position).is_some_and(u8::is_ascii_whitespace) {
                position += 1;
            }
            let value = format!("\"{signature}\"");
            if bytes[position..].starts_with(value.as_bytes()) {
                return Some(position + 1);
            }
        }
        from += found + 1;
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A signed file, written compactly (`JSON.stringify`) or with Python's `json.dumps` spacing.
    fn signed_file(key: &str, spaced: bool) -> Vec<u8> {
        let compact = concat!(
            r#"{"protected":{"ver":"v1","alg":"HS256","iat":1564128599},"signature":"SIG","#,
            r#""payload":{"device_type":"TEST","interval_ms":10,"#,
            r#""sensors":[{"name":"accX","units":"m/s2"}],"values":[[1.5],[-2]]}}"#,
        );
        let template =
            if spaced { compact.replace(',', ", ").replace(':', ": ") } else { compact.to_string() };
        let template = template.replace("SIG", EMPTY_SIGNATURE);
        let signature = sign(template.as_bytes(), key);
        template.replace(EMPTY_SIGNATURE, &signature).into_bytes()
    }

    /// A subnormal interval gave an infinite rate, which no export can write.
    #[test]
    fn an_interval_too_small_for_a_finite_rate_is_an_error() {
        let file = String::from_utf8(signed_file("key", false))
            .unwrap()
            .replace("\"interval_ms\":10", "\"interval_ms\":5e-324");
        let error = parse(Path::new("x.json"), file.as_bytes(), None).unwrap_err();
        assert_eq!(
            error.to_string(),
            "x.json field `payload.interval_ms`: expected an interval that gives a finite rate, found 5e-324 ms"
        );
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        let digest = sign(b"what do ya want for nothing?", "Jefe");
        assert_eq!(digest, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn verifies_signatures_whatever_the_spacing() {
        for spaced in [false, true] {
            let file = signed_file("secret-key", spaced);
            let parsed = parse(Path::new("x.json"), &file, Some("secret-key")).unwrap();
            assert_eq!(parsed.rate_hz, 100.0);
            let error = parse(Path::new("x.json"), &file, Some("other-key")).unwrap_err();
            assert_eq!(error.kind, ImportErrorKind::Signature);
            let tampered = String::from_utf8(file.clone()).unwrap().replace("1.5", "1.6");
            let error = parse(Path::new("x.json"), tampered.as_bytes(), Some("secret-key")).unwrap_err();
            assert!(error.to_string().contains("x.json field `signature`: HMAC-SHA256 mismatch"), "{error}");
            assert!(parse(Path::new("x.json"), tampered.as_bytes(), None).is_ok(), "no key, no check");
        }
    }
}
