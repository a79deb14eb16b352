//! The scripting contract of `--json`: every document carries `schema_version`, and each kind
//! of document has a JSON Schema generated from the Rust types it is serialized from.

use schemars::JsonSchema;
use serde::Serialize;

/// The layout version of every `--json` document. It changes only when a field is removed,
/// renamed or changes meaning; new fields may appear within a version.
pub const SCHEMA_VERSION: u32 = 1;

/// A document with its `schema_version` first.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Versioned<T> {
    /// The layout version of this document (see `picklescope schema`).
    pub schema_version: u32,
    #[serde(flatten)]
    pub body: T,
}

/// `body` as a pretty-printed JSON document with `"schema_version": 1` first.
pub fn to_json<T: Serialize>(body: &T) -> String {
    let doc = Versioned {
        schema_version: SCHEMA_VERSION,
        body,
    };
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// The JSON Schema (draft 2020-12) of documents made of `T` as they are written (fields
/// left out when empty are optional), titled `title`.
pub fn schema_of<T: JsonSchema>(title: &str) -> String {
    let mut s = schemars::generate::SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<Versioned<T>>();
    s.insert("title".into(), title.into());
    serde_json::to_string_pretty(&s).unwrap_or_default()
}
