//! Which code breaks when an attribute goes: reads of transient attributes in Python source.
//!
//! A slimmed pickle loads into objects that lack the dropped attributes, so code that reads
//! them afterwards (`result.view`, `for k, v in result.components.items()`) raises
//! `AttributeError`. This module parses Python source with tree-sitter — nothing is imported
//! or run — and lists every read of a marked attribute that is not already guarded
//! (`getattr` with a default, `hasattr` tests, `try/except AttributeError`, ...), each with a
//! confidence and a suggested fix that is printed, never applied.
//!
//! - [`py`]: small readers over tree-sitter-python nodes.
//! - [`form`]: how a read spells the attribute, and what it raises once it is gone.
//! - [`reads`]: the reads of chosen attribute names in one file.
//! - [`guarded`]: whether a read already runs only where the attribute exists.
//! - [`classes`]: class statements and the classes a set of rules marks.
//! - [`scan`]: files and modules, confidence, fixes: the findings of a whole run.
//! - [`empties`]: the empty value of an attribute's type, from a pickle, for the fixes.
//! - [`text`]: the findings as text.

pub mod classes;
pub mod empties;
pub mod form;
pub mod guarded;
pub mod py;
pub mod reads;
pub mod scan;
pub mod text;

pub use classes::{ClassDef, Marked, expand_with};
pub use empties::{empties, empty_literal};
pub use form::Form;
pub use reads::Read;
pub use scan::{Confidence, Finding, Scan, ScanError, learn_classes, scan};
