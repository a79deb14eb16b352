//! Small readers over tree-sitter-python nodes: source text, string literals, call arguments,
//! the object behind `x.__dict__` or `vars(x)`, a walk over every node.

use tree_sitter::{Node, Parser, Tree};

/// Parses Python source (any version tree-sitter-python knows); `None` only if the parser
/// could not be set up or was cancelled. Syntax errors give a tree with error nodes.
pub fn parse(src: &[u8]) -> Option<Tree> {
    let mut parser = Parser::new();
    parser
        .set_language(&tree_sitter_python::LANGUAGE.into())
        .ok()?;
    parser.parse(src, None)
}

/// The source text of `node` ("" if it is not UTF-8).
pub fn text<'s>(node: Node, src: &'s [u8]) -> &'s str {
    node.utf8_text(src).unwrap_or("")
}

/// The value of a plain string literal (`'view'`, `"view"`, `r'view'`); `None` for anything
/// else, f-strings and concatenations included.
pub fn string_value(node: Node, src: &[u8]) -> Option<String> {
    if node.kind() != "string" {
        return None;
    }
    let mut value = String::new();
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        match child.kind() {
            "string_start" | "string_end" => {}
            "string_content" => value.push_str(text(child, src)),
            _ => return None, // interpolation or escape sequence: not a plain name
        }
    }
    Some(value)
}

/// The arguments of a call, named children of its argument list (comments left out).
pub fn call_args(call: Node) -> Option<Vec<Node>> {
    let list = call.child_by_field_name("arguments")?;
    if list.kind() != "argument_list" {
        return None;
    }
    let mut cursor = list.walk();
    Some(
        list.named_children(&mut cursor)
            .filter(|n| n.kind() != "comment")
            .collect(),
    )
}

/// Two expressions spelled the same, whitespace aside (`result .view` is `result.view`).
pub fn same_expr(a: &str, b: &str) -> bool {
    a.chars()
        .filter(|c| !c.is_whitespace())
        .eq(b.chars().filter(|c| !c.is_whitespace()))
}

/// For `x.__dict__` or `vars(x)`: the node of `x`.
pub fn dict_owner<'t>(value: Node<'t>, src: &[u8]) -> Option<Node<'t>> {
    match value.kind() {
        "attribute" => {
            let attr = value.child_by_field_name("attribute")?;
            (text(attr, src) == "__dict__").then_some(value.child_by_field_name("object")?)
        }
        "call" => {
            let function = value.child_by_field_name("function")?;
            if text(function, src) != "vars" {
                return None;
            }
            let args = call_args(value)?;
            (args.len() == 1).then(|| args[0])
        }
        _ => None,
    }
}

/// Visits every node under `root` (itself first) in source order, with its ancestors
/// outermost first. The walk uses the tree cursor and keeps the ancestors itself (tree-sitter
/// finds a node's parent by walking down from the root), so deep nesting costs no stack.
pub fn each_node<'t>(root: Node<'t>, mut visit: impl FnMut(Node<'t>, &[Node<'t>])) {
    let mut cursor = root.walk();
    let mut path: Vec<Node<'t>> = Vec::new();
    loop {
        let node = cursor.node();
        visit(node, &path);
        if cursor.goto_first_child() {
            path.push(node);
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return;
            }
            path.pop();
        }
    }
}
