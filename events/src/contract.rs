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
    /// Where the committed schema and examples of this version live, relative
    /// to `events/schemas/` and `events/examples/`.
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

/// A contract: the `data` of one event version.
///
/// A breaking change to a type is never made in place: add `FooV2` beside
/// `FooV1`, keep both in the catalog, and publish both while consumers move.
pub trait Event: Serialize + DeserializeOwned + JsonSchema + Send + Sync + 'static {
    const SOURCE: &'static str;
    const DETAIL_TYPE: &'static str;
    const VERSION: u32;
    const KEY: EventKey = EventKey {
        source: Self::SOURCE,
        detail_type: Self::DETAIL_TYPE,
        version: Self::VERSION,
    };
}

/// Declares a contract type's identity in one line beside its definition.
macro_rules! contract {
    ($ty:ty, $source:expr, $detail_type:literal, v $version:literal) => {
        impl $crate::Event for $ty {
            const SOURCE: &'static str = $source;
            const DETAIL_TYPE: &'static str = $detail_type;
            const VERSION: u32 = $version;
        }
    };
}
pub(crate) use contract;
