use schemars::JsonSchema;
use serde::{Serialize, de::DeserializeOwned};

/// Identity of one event version on the bus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventKey {
    pub source: &'static str,
    pub detail_type: &'static str,
    pub version: u32,
}

impl EventKey {
    /// The key of this version's committed schema and examples:
    /// `<source>/<DetailType>` (where those are in the checkout is the
    /// tools' business).
    pub fn rel_dir(&self) -> String {
        format!("{}/{}", self.source, self.detail_type)
    }

    pub fn schema_file(&self) -> String {
        format!("{}/v{}.json", self.rel_dir(), self.version)
    }
}

impl std::fmt::Display for EventKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{} v{}", self.source, self.detail_type, self.version)
    }
}

/// How a version may change while it is on the bus, as schema registries
/// name it. The schema check holds each version to its own mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compatibility {
    /// Readers on a newer schema read every older event: what archive and
    /// DLQ replays need.
    Backward,
    /// Readers still on an older schema read every newer event: what
    /// consumers that have not upgraded need.
    Forward,
    /// Both: the default for events on the bus, where old and new readers
    /// and old and new events meet.
    #[default]
    Full,
}

impl Compatibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Compatibility::Backward => "BACKWARD",
            Compatibility::Forward => "FORWARD",
            Compatibility::Full => "FULL",
        }
    }
}

/// For an enum with a `#[serde(other)]` catch-all variant: serde reads any
/// string into it, but schemars still writes a closed `enum`. This makes the
/// schema say what serde does (any string), keeping the known values as
/// `x-known-values`, so adding a value later is compatible for consumers.
///
/// ```ignore
/// #[derive(Serialize, Deserialize, JsonSchema)]
/// #[schemars(transform = events::open_enum)]
/// pub enum Channel { Email, Push, #[serde(other)] Unknown }
/// ```
pub fn open_enum(schema: &mut schemars::Schema) {
    let known = match schema.remove("enum") {
        Some(values) => values,
        // Documented unit variants come as `oneOf` of `const`s.
        None => match schema.remove("oneOf") {
            Some(serde_json::Value::Array(branches)) => branches
                .iter()
                .flat_map(|b| match (b.get("const"), b.get("enum")) {
                    (Some(c), _) => vec![c.clone()],
                    (None, Some(serde_json::Value::Array(vs))) => vs.clone(),
                    _ => Vec::new(),
                })
                .collect(),
            Some(other) => {
                schema.insert("oneOf".into(), other);
                return;
            }
            None => return,
        },
    };
    schema.insert("type".into(), "string".into());
    schema.insert("x-known-values".into(), known);
}

/// A contract: the `data` of one event version.
///
/// A breaking change to a type is never made in place: add `FooV2` beside
/// `FooV1`, keep both in the catalog, and publish both while consumers move.
pub trait Event: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static {
    const SOURCE: &'static str;
    const DETAIL_TYPE: &'static str;
    const VERSION: u32;
    /// Declared beside the type with `contract!(..., compatibility = Backward)`.
    const COMPATIBILITY: Compatibility = Compatibility::Full;
    const KEY: EventKey = EventKey {
        source: Self::SOURCE,
        detail_type: Self::DETAIL_TYPE,
        version: Self::VERSION,
    };
}

/// Declares a contract type's identity in one line beside its definition,
/// with its compatibility mode when it is not FULL.
macro_rules! contract {
    ($ty:ty, $source:expr, $detail_type:literal, v $version:literal) => {
        $crate::contract::contract!($ty, $source, $detail_type, v $version, compatibility = Full);
    };
    ($ty:ty, $source:expr, $detail_type:literal, v $version:literal, compatibility = $mode:ident) => {
        impl $crate::Event for $ty {
            const SOURCE: &'static str = $source;
            const DETAIL_TYPE: &'static str = $detail_type;
            const VERSION: u32 = $version;
            const COMPATIBILITY: $crate::Compatibility = $crate::Compatibility::$mode;
        }
    };
}
pub(crate) use contract;
