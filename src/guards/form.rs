//! How a read spells an attribute, and what it raises when the attribute was dropped.

use serde::Serialize;

/// How a read spells the attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Form {
    /// `x.view` (also `x.view[...]`, `x.view.items()`).
    Attribute,
    /// `getattr(x, 'view')` without a default.
    Getattr,
    /// `x.__dict__['view']` or `vars(x)['view']`.
    DictItem,
}

impl Form {
    /// The exceptions a handler may name to catch what this read raises when the attribute is
    /// missing: `AttributeError` (`KeyError` for a dict item) and its bases.
    pub fn caught_by(self) -> &'static [&'static str] {
        match self {
            Form::Attribute | Form::Getattr => &["AttributeError", "Exception", "BaseException"],
            Form::DictItem => &["KeyError", "LookupError", "Exception", "BaseException"],
        }
    }
}
