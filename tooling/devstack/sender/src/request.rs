//! A campaign request's body, checked field by field so a refusal names
//! the field: the caller's client is written against these bounds, and a
//! 400 that only says "bad request" would hide which one it crossed.

use serde_json::{Map, Value};

pub const SUBJECT_MAX: usize = 200;
pub const BODY_MAX: usize = 100_000;
pub const RECIPIENTS_MAX: usize = 10_000;

/// The `field` of a body that is not a JSON object at all.
pub const WHOLE_REQUEST: &str = "request";

/// Why a request was refused: the field and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct Invalid {
    pub field: String,
    pub message: String,
}

impl Invalid {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCampaign {
    pub subject: String,
    pub body: String,
    pub recipients: Vec<String>,
    pub reference: String,
}

impl NewCampaign {
    /// Unknown fields are ignored, as vendors' APIs do, so a caller may
    /// send more than this stand-in reads.
    pub fn parse(bytes: &[u8]) -> Result<Self, Invalid> {
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|e| Invalid::new(WHOLE_REQUEST, format!("not JSON: {e}")))?;
        let Value::Object(mut fields) = value else {
            return Err(Invalid::new(WHOLE_REQUEST, "must be a JSON object"));
        };
        Ok(Self {
            subject: text(&mut fields, "subject", SUBJECT_MAX)?,
            body: text(&mut fields, "body", BODY_MAX)?,
            recipients: recipients(&mut fields)?,
            reference: match fields.remove("reference") {
                Some(Value::String(s)) => s,
                None | Some(Value::Null) => return Err(required("reference")),
                Some(_) => return Err(Invalid::new("reference", "must be a string")),
            },
        })
    }
}

fn required(field: &str) -> Invalid {
    Invalid::new(field, "is required")
}

fn text(fields: &mut Map<String, Value>, field: &str, max: usize) -> Result<String, Invalid> {
    match fields.remove(field) {
        Some(Value::String(s)) => {
            let n = s.chars().count();
            if n == 0 || n > max {
                Err(Invalid::new(
                    field,
                    format!("must be 1 to {max} characters (got {n})"),
                ))
            } else {
                Ok(s)
            }
        }
        None | Some(Value::Null) => Err(required(field)),
        Some(_) => Err(Invalid::new(field, "must be a string")),
    }
}

fn recipients(fields: &mut Map<String, Value>) -> Result<Vec<String>, Invalid> {
    const FIELD: &str = "recipients";
    let items = match fields.remove(FIELD) {
        Some(Value::Array(items)) => items,
        None | Some(Value::Null) => return Err(required(FIELD)),
        Some(_) => return Err(Invalid::new(FIELD, "must be an array of strings")),
    };
    if items.is_empty() || items.len() > RECIPIENTS_MAX {
        return Err(Invalid::new(
            FIELD,
            format!(
                "must hold 1 to {RECIPIENTS_MAX} recipients (got {})",
                items.len()
            ),
        ));
    }
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| match item {
            Value::String(s) if !s.is_empty() => Ok(s),
            Value::String(_) => Err(Invalid::new(FIELD, format!("recipients[{i}] is empty"))),
            _ => Err(Invalid::new(
                FIELD,
                format!("recipients[{i}] must be a string"),
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn field_of(body: Value) -> String {
        match NewCampaign::parse(body.to_string().as_bytes()) {
            Err(e) => e.field,
            Ok(c) => panic!("accepted {c:?}"),
        }
    }

    #[test]
    fn each_bound_names_its_field() {
        let ok = json!({"subject": "s", "body": "b", "recipients": ["a@x"], "reference": "r"});
        assert!(NewCampaign::parse(ok.to_string().as_bytes()).is_ok());
        let with = |key: &str, value: Value| {
            let mut v = ok.clone();
            v[key] = value;
            v
        };
        assert_eq!(field_of(with("subject", json!(""))), "subject");
        assert_eq!(field_of(with("subject", json!("é".repeat(201)))), "subject");
        assert!(
            NewCampaign::parse(
                with("subject", json!("é".repeat(200)))
                    .to_string()
                    .as_bytes()
            )
            .is_ok(),
            "200 characters, 400 bytes"
        );
        assert_eq!(field_of(with("body", json!(7))), "body");
        assert_eq!(field_of(with("recipients", json!([]))), "recipients");
        assert_eq!(field_of(with("recipients", json!(["a", ""]))), "recipients");
        assert_eq!(field_of(with("recipients", json!("a"))), "recipients");
        assert_eq!(field_of(with("reference", Value::Null)), "reference");
        assert_eq!(field_of(json!([1])), WHOLE_REQUEST);
        assert_eq!(
            NewCampaign::parse(b"{\"subject\":").map_err(|e| e.field),
            Err(WHOLE_REQUEST.to_owned())
        );
    }
}
