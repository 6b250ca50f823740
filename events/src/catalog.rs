use schemars::generate::SchemaSettings;
use serde_json::Value;

use crate::wire::decode_detail;
use crate::{Compatibility, ContractError, Envelope, Event, EventKey};

/// Everything the tools need to know about one event version, without
/// knowing its Rust type.
#[derive(Clone, Copy)]
pub struct EventSpec {
    pub key: EventKey,
    /// The mode the schema check holds this version to.
    pub compatibility: Compatibility,
    schema: fn() -> Value,
    check_detail: fn(&Value) -> Result<(), ContractError>,
}

impl EventSpec {
    pub fn of<E: Event>() -> Self {
        Self {
            key: E::KEY,
            compatibility: E::COMPATIBILITY,
            schema: schema_of::<E>,
            check_detail: |detail| decode_detail::<E>(detail).map(drop),
        }
    }

    /// The JSON Schema of this version's EventBridge `detail`.
    pub fn schema(&self) -> Value {
        (self.schema)()
    }

    /// Deserializes a `detail` into the Rust type, as a consumer would.
    pub fn check_detail(&self, detail: &Value) -> Result<(), ContractError> {
        (self.check_detail)(detail)
    }
}

impl std::fmt::Debug for EventSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventSpec").field("key", &self.key).finish()
    }
}

/// Every event version that exists. A version stays here for as long as any
/// consumer may receive it (archives replay old events too).
pub fn catalog() -> Vec<EventSpec> {
    crate::CATALOGS
        .iter()
        .flat_map(|versions| versions())
        .collect()
}

pub fn find(key: &EventKey) -> Option<EventSpec> {
    catalog().into_iter().find(|spec| spec.key == *key)
}

fn schema_of<E: Event>() -> Value {
    let generator = SchemaSettings::draft2020_12().into_generator();
    let schema = generator.into_root_schema_for::<Envelope<E>>();
    let mut value = schema.to_value();
    let obj = value.as_object_mut().expect("a root schema is an object");
    let key = E::KEY;
    obj.insert(
        "$id".into(),
        format!(
            "urn:events:{}:{}:v{}",
            key.source, key.detail_type, key.version
        )
        .into(),
    );
    obj.insert(
        "title".into(),
        format!("{} v{}", key.detail_type, key.version).into(),
    );
    obj.insert(
        "x-event".into(),
        serde_json::json!({
            "source": key.source,
            "detail-type": key.detail_type,
            "version": key.version,
        }),
    );
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn keys_are_unique() {
        let keys: HashSet<_> = catalog().iter().map(|s| s.key).collect();
        assert_eq!(keys.len(), catalog().len());
    }

    #[test]
    fn schema_names_its_event_and_describes_the_envelope() {
        let spec = find(&crate::todos::TodoCompletedV1::KEY).unwrap();
        let schema = spec.schema();
        assert_eq!(schema["x-event"]["detail-type"], "TodoCompleted");
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        let required: Vec<_> = schema["required"].as_array().unwrap().iter().collect();
        assert!(required.contains(&&Value::from("metadata")));
        assert!(required.contains(&&Value::from("data")));
    }
}
