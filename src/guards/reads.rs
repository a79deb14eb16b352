//! Finds the unguarded reads of chosen attribute names in one Python source file.

use std::collections::BTreeSet;

use tree_sitter::Node;

use super::form::Form;
use super::guarded::is_guarded;
use super::py::{call_args, dict_owner, each_node, string_value, text};

/// One read that raises `AttributeError` (or `KeyError`) when the attribute was dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    pub attr: String,
    pub form: Form,
    /// 1-based line and column (column in characters of the line).
    pub line: usize,
    pub column: usize,
    /// The expression whose attribute is read (`result`, `result.flaggerresult`).
    pub object: String,
    /// The whole read as written (`result.view`, `getattr(r, 'view')`).
    pub expr: String,
    /// For a dict item: the dict as written (`result.__dict__`, `vars(result)`); else empty.
    pub holder: String,
    /// Innermost first: enclosing functions and classes (`<lambda>` for a lambda).
    pub scopes: Vec<String>,
    /// The innermost enclosing class, if any.
    pub class: Option<String>,
}

/// Every unguarded read of an attribute in `attrs` in the tree rooted at `root`.
pub fn find_reads(root: Node, src: &[u8], attrs: &BTreeSet<String>) -> Vec<Read> {
    let mut out = Vec::new();
    each_node(root, |node, path| {
        if let Some((attr, form, object)) = read_at(node, path, src, attrs)
            && !is_guarded(node, path, form, &object, &attr, src)
        {
            out.push(read(node, path, src, attr, form, object));
        }
    });
    out
}

/// `(attr, form, object text)` when `node` reads one of `attrs` without a default.
fn read_at(
    node: Node,
    path: &[Node],
    src: &[u8],
    attrs: &BTreeSet<String>,
) -> Option<(String, Form, String)> {
    match node.kind() {
        "attribute" => {
            let name = text(node.child_by_field_name("attribute")?, src);
            if !attrs.contains(name) || is_write(node, path) || is_called(node, path) {
                return None;
            }
            let object = node.child_by_field_name("object")?;
            Some((
                name.to_string(),
                Form::Attribute,
                text(object, src).to_string(),
            ))
        }
        "call" => {
            let function = node.child_by_field_name("function")?;
            if function.kind() != "identifier" || text(function, src) != "getattr" {
                return None;
            }
            let args = call_args(node)?;
            // getattr(obj, 'name') only: a third argument or a keyword is a default.
            if args.len() != 2 || args.iter().any(|a| a.kind() == "keyword_argument") {
                return None;
            }
            let name = string_value(args[1], src)?;
            if !attrs.contains(&name) {
                return None;
            }
            Some((name, Form::Getattr, text(args[0], src).to_string()))
        }
        "subscript" => {
            let value = node.child_by_field_name("value")?;
            let key = string_value(node.child_by_field_name("subscript")?, src)?;
            if !attrs.contains(&key) || is_write(node, path) {
                return None;
            }
            let object = dict_owner(value, src)?;
            Some((key, Form::DictItem, text(object, src).to_string()))
        }
        _ => None,
    }
}

/// True when `node` is assigned to or deleted (`x.view = ...`, `for x.view in`, `del x.view`),
/// not read. An augmented assignment (`x.view += 1`) reads first, so it is not a write here.
fn is_write(node: Node, path: &[Node]) -> bool {
    let mut child = node;
    for &parent in path.iter().rev() {
        match parent.kind() {
            // Unpacking targets: keep climbing to the statement.
            "pattern_list" | "tuple_pattern" | "list_pattern" | "list_splat_pattern" => {}
            "tuple" | "list" | "parenthesized_expression" | "expression_list" => {}
            "assignment" | "for_statement" | "for_in_clause" => {
                return parent
                    .child_by_field_name("left")
                    .is_some_and(|l| l.id() == child.id());
            }
            "delete_statement" => return true,
            _ => return false,
        }
        child = parent;
    }
    false
}

/// True when `node` is the callee of a call (`arr.view(np.float32)`): a method, not the data.
fn is_called(node: Node, path: &[Node]) -> bool {
    path.last().is_some_and(|p| {
        p.kind() == "call"
            && p.child_by_field_name("function")
                .is_some_and(|f| f.id() == node.id())
    })
}

fn read(node: Node, path: &[Node], src: &[u8], attr: String, form: Form, object: String) -> Read {
    let holder = match form {
        Form::DictItem => node
            .child_by_field_name("value")
            .map(|v| text(v, src).to_string())
            .unwrap_or_default(),
        _ => String::new(),
    };
    let (scopes, class) = scopes(path, src);
    let pos = node.start_position();
    let line_start = node.start_byte() - pos.column;
    let column = String::from_utf8_lossy(&src[line_start..node.start_byte()])
        .chars()
        .count()
        + 1;
    Read {
        attr,
        form,
        line: pos.row + 1,
        column,
        object,
        expr: text(node, src).to_string(),
        holder,
        scopes,
        class,
    }
}

/// Enclosing function and class names, innermost first, and the innermost class.
fn scopes(path: &[Node], src: &[u8]) -> (Vec<String>, Option<String>) {
    let mut names = Vec::new();
    let mut class = None;
    for &n in path.iter().rev() {
        match n.kind() {
            "function_definition" | "class_definition" => {
                if let Some(name) = n.child_by_field_name("name") {
                    let name = text(name, src).to_string();
                    if n.kind() == "class_definition" && class.is_none() {
                        class = Some(name.clone());
                    }
                    names.push(name);
                }
            }
            "lambda" => names.push("<lambda>".to_string()),
            _ => {}
        }
    }
    (names, class)
}
