//! The contract a deployed stack carries: every deploy tags its stack with
//! the versions its service publishes and consumes, each with its schema's
//! digest, so the deploy plan can tell which steps are done by reading the
//! stacks alone (no commit of theirs needs to be in the clone). Written by
//! `devstack` and the workflows' `sam deploy --tags` (through `cargo xtask
//! contract-tags`), read back by `ops stacks` and the plan.
//!
//! One tag per event and direction: `publishes:app.todos/TodoDeleted` →
//! `v1:3f2a…+v2:9c01…`. AWS allows 50 tags on a stack; a value holds
//! letters, digits and `_ . : / = + - @` only.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::Service;

/// `source/detail-type` → version → the digest of that version's schema.
pub type Versions = BTreeMap<String, BTreeMap<u32, String>>;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Carried {
    pub publishes: Versions,
    pub consumes: Versions,
}

/// A deployed stack as `ops stacks --json` prints it and the contract
/// tools read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stack {
    pub stack: String,
    pub service: String,
    pub commit: String,
    pub status: String,
    /// Empty for a stack outside the bus, or deployed before the tags.
    #[serde(default)]
    pub carries: Carried,
}

const PUBLISHES: &str = "publishes:";
const CONSUMES: &str = "consumes:";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TagError {
    #[error("tag {key}: {value:?} is not `v<N>:<digest>` joined by `+`")]
    Value { key: String, value: String },
    #[error("{0}: no such event in the catalog")]
    Unknown(String),
}

impl Carried {
    /// What `service` as compiled here carries: its declaration, each
    /// version with the digest of the schema its type generates.
    pub fn of(service: &Service) -> Result<Self, TagError> {
        let side = |keys: &[events::EventKey]| -> Result<Versions, TagError> {
            let mut out = Versions::new();
            for key in keys {
                let spec = events::find(key).ok_or_else(|| TagError::Unknown(key.to_string()))?;
                out.entry(key.rel_dir())
                    .or_default()
                    .insert(key.version, digest(&spec.schema()));
            }
            Ok(out)
        };
        Ok(Self {
            publishes: side(service.publishes)?,
            consumes: side(service.consumes)?,
        })
    }

    /// The stack tags, sorted by key.
    pub fn tags(&self) -> Vec<(String, String)> {
        let side = |prefix: &str, versions: &Versions| {
            versions
                .iter()
                .map(|(event, v)| {
                    let value: Vec<String> = v.iter().map(|(n, d)| format!("v{n}:{d}")).collect();
                    (format!("{prefix}{event}"), value.join("+"))
                })
                .collect::<Vec<_>>()
        };
        let mut tags = side(PUBLISHES, &self.publishes);
        tags.extend(side(CONSUMES, &self.consumes));
        tags.sort();
        tags
    }

    /// Read back from a stack's tags; tags of other kinds are ignored.
    pub fn from_tags<'a>(
        tags: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, TagError> {
        let mut out = Self::default();
        for (key, value) in tags {
            let (side, event) = if let Some(e) = key.strip_prefix(PUBLISHES) {
                (&mut out.publishes, e)
            } else if let Some(e) = key.strip_prefix(CONSUMES) {
                (&mut out.consumes, e)
            } else {
                continue;
            };
            let bad = || TagError::Value {
                key: key.to_owned(),
                value: value.to_owned(),
            };
            let versions = side.entry(event.to_owned()).or_default();
            for part in value.split('+') {
                let (n, d) = part.split_once(':').ok_or_else(bad)?;
                let n = n.strip_prefix('v').and_then(|n| n.parse().ok());
                let n = n.ok_or_else(bad)?;
                if d.is_empty() || !d.chars().all(|c| c.is_ascii_hexdigit()) {
                    return Err(bad());
                }
                versions.insert(n, d.to_owned());
            }
        }
        Ok(out)
    }
}

/// A schema's digest: the first 12 hex digits of the SHA-256 of its JSON
/// with every object's keys sorted, so the committed file and the schema
/// its type generates agree however either was laid out.
pub fn digest(schema: &Value) -> String {
    let mut text = String::new();
    canonical(schema, &mut text);
    let hash = Sha256::digest(text.as_bytes());
    hash.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::from(k.as_str()).to_string());
                out.push(':');
                canonical(&map[k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn tags_read_back_to_what_was_carried() {
        let carried = Carried::of(&crate::todos::DECLARATION).unwrap();
        assert_eq!(carried.publishes.len(), 6);
        let tags = carried.tags();
        assert!(
            tags.iter()
                .any(|(k, v)| k == "consumes:app.users/UserDeleted"
                    && v.starts_with("v1:")
                    && v.len() == 15)
        );
        for (k, v) in &tags {
            assert!(k.len() <= 128 && v.len() <= 256, "{k}={v}");
            let allowed = |c: char| c.is_ascii_alphanumeric() || "_.:/=+-@".contains(c);
            assert!(k.chars().chain(v.chars()).all(allowed), "{k}={v}");
        }
        let back = Carried::from_tags(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        assert_eq!(back.unwrap(), carried);
    }

    #[test]
    fn two_versions_share_one_tag_and_other_tags_are_ignored() {
        let tags = [
            ("service", "notifications"),
            (
                "publishes:app.notifications/NotificationSent",
                "v1:00aa+v2:11bb",
            ),
        ];
        let carried = Carried::from_tags(tags).unwrap();
        let sent = &carried.publishes["app.notifications/NotificationSent"];
        assert_eq!(sent.keys().copied().collect::<Vec<_>>(), [1, 2]);
        assert_eq!(carried.tags()[0].1, "v1:00aa+v2:11bb");
    }

    #[test]
    fn a_malformed_tag_is_an_error_naming_it() {
        let e = Carried::from_tags([("consumes:app.users/UserDeleted", "1:zz")]).unwrap_err();
        assert!(
            e.to_string().contains("consumes:app.users/UserDeleted"),
            "{e}"
        );
    }

    #[test]
    fn the_digest_ignores_key_order_and_sees_any_change() {
        let a =
            json!({"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}}});
        let b =
            json!({"properties": {"a": {"type": "string"}}, "required": ["a"], "type": "object"});
        assert_eq!(digest(&a), digest(&b));
        let c =
            json!({"properties": {"a": {"type": "integer"}}, "required": ["a"], "type": "object"});
        assert_ne!(digest(&a), digest(&c));
        assert_eq!(digest(&a).len(), 12);
    }
}
