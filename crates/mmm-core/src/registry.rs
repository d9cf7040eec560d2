//! The plugin registry.
//!
//! Every plugin (transform, model, causal structure, optimizer, and any kind a later crate adds)
//! registers one [`PluginDescriptor`] with `inventory::submit!`. The registry knows plugin kinds
//! only as strings, so adding a kind needs no change here: define the trait with
//! `#[typetag::serde(tag = "type")]`, give it a kind name, and call [`plugin_kind_schema!`].
//!
//! The JSON Schema of a kind is built from its descriptors, sorted by tag, in the if/then form
//! (not `oneOf`), so that validation errors point at the offending parameter:
//! ```text
//! {"type":"object","required":["type"],"properties":{"type":{"enum":[tags…]}},
//!  "allOf":[{"if":{"properties":{"type":{"const":tag}}},"then":<params with "type" injected>}…]}
//! ```

use crate::error::{MmmError, Result};
use schemars::{Schema, SchemaGenerator};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// What a plugin tells the registry about itself.
#[derive(Debug, Clone, Copy)]
pub struct PluginDescriptor {
    /// The plugin kind (`"transform"`, `"model"`, `"causal"`, `"optimizer"`, …).
    pub kind: &'static str,
    /// The `type` tag in the spec; must equal the `typetag` name.
    pub tag: &'static str,
    /// One line that says what the plugin does.
    pub description: &'static str,
    /// The JSON Schema of the plugin's parameters (from `schemars`).
    pub schema: fn(&mut SchemaGenerator) -> Schema,
    /// A valid example of the parameters, as JSON text without the `type` field.
    pub example: &'static str,
}

impl PluginDescriptor {
    /// Describes plugin type `T` (a `const fn`, so it can sit inside `inventory::submit!`).
    pub const fn new<T: schemars::JsonSchema>(
        kind: &'static str,
        tag: &'static str,
        description: &'static str,
        example: &'static str,
    ) -> Self {
        PluginDescriptor {
            kind,
            tag,
            description,
            schema: T::json_schema,
            example,
        }
    }

    /// The example as a JSON object with its `type` tag, ready to deserialize as a trait object.
    pub fn tagged_example(&self) -> Result<Value> {
        let mut v: Value = serde_json::from_str(self.example).map_err(|e| {
            MmmError::Compute(format!("example of plugin '{}' is not JSON: {e}", self.tag))
        })?;
        match v.as_object_mut() {
            Some(obj) => {
                obj.insert("type".into(), Value::String(self.tag.into()));
            }
            None => {
                return Err(MmmError::Compute(format!(
                    "example of plugin '{}' is not a JSON object",
                    self.tag
                )))
            }
        }
        Ok(v)
    }

    /// The parameters' schema, with `"type": {"const": tag}` injected into its properties.
    pub fn tagged_schema(&self, generator: &mut SchemaGenerator) -> Value {
        let mut schema = (self.schema)(generator).to_value();
        if let Value::Object(obj) = &mut schema {
            let props = obj
                .entry("properties")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(p) = props {
                p.insert("type".into(), json!({ "const": self.tag }));
            }
            let req = obj
                .entry("required")
                .or_insert_with(|| Value::Array(vec![]));
            if let Value::Array(r) = req {
                if !r.iter().any(|x| x == "type") {
                    r.insert(0, Value::String("type".into()));
                }
            }
            obj.insert("type".into(), Value::String("object".into()));
        }
        schema
    }
}

inventory::collect!(PluginDescriptor);

/// Every registered plugin, sorted by (kind, tag).
///
/// # Errors
/// Fails when two plugins of one kind share a tag (typetag would fail at the first
/// deserialization otherwise).
pub fn all_plugins() -> Result<Vec<&'static PluginDescriptor>> {
    let mut v: Vec<&'static PluginDescriptor> = inventory::iter::<PluginDescriptor>().collect();
    v.sort_by(|a, b| (a.kind, a.tag).cmp(&(b.kind, b.tag)));
    for w in v.windows(2) {
        if w[0].kind == w[1].kind && w[0].tag == w[1].tag {
            return Err(MmmError::Compute(format!(
                "two {} plugins are registered with the tag '{}'",
                w[0].kind, w[0].tag
            )));
        }
    }
    Ok(v)
}

/// The registered plugins of one kind, sorted by tag.
pub fn plugins(kind: &str) -> Vec<&'static PluginDescriptor> {
    let mut v: Vec<&'static PluginDescriptor> = inventory::iter::<PluginDescriptor>()
        .filter(|d| d.kind == kind)
        .collect();
    v.sort_by_key(|d| d.tag);
    v.dedup_by_key(|d| d.tag);
    v
}

/// The registered plugins grouped by kind (kinds sorted, tags sorted within each kind).
pub fn by_kind() -> BTreeMap<&'static str, Vec<&'static PluginDescriptor>> {
    let mut m: BTreeMap<&'static str, Vec<&'static PluginDescriptor>> = BTreeMap::new();
    for d in inventory::iter::<PluginDescriptor>() {
        m.entry(d.kind).or_default().push(d);
    }
    for v in m.values_mut() {
        v.sort_by_key(|d| d.tag);
    }
    m
}

/// Looks up one plugin by kind and tag.
pub fn find(kind: &str, tag: &str) -> Option<&'static PluginDescriptor> {
    inventory::iter::<PluginDescriptor>().find(|d| d.kind == kind && d.tag == tag)
}

/// The JSON Schema of every plugin of `kind`, chosen by `type` (if/then form, sorted by tag).
pub fn kind_schema(kind: &str, generator: &mut SchemaGenerator) -> Schema {
    let plugins = plugins(kind);
    let tags: Vec<Value> = plugins
        .iter()
        .map(|d| Value::String(d.tag.into()))
        .collect();
    let all_of: Vec<Value> = plugins
        .iter()
        .map(|d| {
            let mut then = d.tagged_schema(generator);
            if crate::search::TUNABLE_KINDS.contains(&kind) {
                crate::search::allow_ranges(&mut then);
            }
            json!({
                "if": {"properties": {"type": {"const": d.tag}}, "required": ["type"]},
                "then": then,
            })
        })
        .collect();
    let mut obj = json!({
        "type": "object",
        "description": format!("A {kind} plugin, chosen by its `type`."),
        "required": ["type"],
        "properties": {"type": {"enum": tags, "description": format!("The registered {kind} to use.")}},
    });
    if !all_of.is_empty() {
        obj["allOf"] = Value::Array(all_of);
    }
    Schema::try_from(obj).unwrap_or_default()
}

/// Implements `schemars::JsonSchema` for a plugin trait object (`dyn Trait`) from the registry,
/// so that `Box<dyn Trait>` fields of derived types get the kind's schema.
///
/// ```ignore
/// mmm_core::plugin_kind_schema!(Transform, "transform", "Transform");
/// ```
#[macro_export]
macro_rules! plugin_kind_schema {
    ($trait:path, $kind:expr, $name:literal) => {
        impl $crate::reexports::schemars::JsonSchema for dyn $trait {
            fn schema_name() -> ::std::borrow::Cow<'static, str> {
                ::std::borrow::Cow::Borrowed($name)
            }
            fn json_schema(
                generator: &mut $crate::reexports::schemars::SchemaGenerator,
            ) -> $crate::reexports::schemars::Schema {
                $crate::registry::kind_schema($kind, generator)
            }
        }
    };
}

/// Registers a plugin: `mmm_core::register!(Kind, GeometricAdstock, "geometric_adstock", "…", r#"{…}"#);`
/// expands to one `inventory::submit!` of a [`PluginDescriptor`].
#[macro_export]
macro_rules! register {
    ($kind:expr, $ty:ty, $tag:literal, $desc:literal, $example:literal) => {
        $crate::reexports::inventory::submit! {
            $crate::registry::PluginDescriptor::new::<$ty>($kind, $tag, $desc, $example)
        }
    };
}
