//! Decides whether a read is already guarded: `hasattr` tests, `'name' in vars(x)`, truthy
//! `getattr(x, 'name', None)`, early exits, `try: ... except AttributeError`.

use tree_sitter::Node;

use super::form::Form;
use super::py::{call_args, dict_owner, same_expr, string_value, text};

/// What a condition tells about `object.attr` existing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tells {
    /// True implies the attribute exists (`hasattr(x, 'view')`).
    PresentIfTrue,
    /// False implies the attribute exists (`not hasattr(x, 'view')`).
    PresentIfFalse,
}

/// True when the read at `node` of `object.attr` runs only where the attribute is known to
/// exist, or where its absence is caught. The walk stops at the enclosing function or class:
/// a test made elsewhere guards nothing here.
/// `path` holds the ancestors of `node`, outermost first.
pub fn is_guarded(
    node: Node,
    path: &[Node],
    form: Form,
    object: &str,
    attr: &str,
    src: &[u8],
) -> bool {
    let mut child = node;
    for &parent in path.iter().rev() {
        let on = |field: &str| {
            parent
                .child_by_field_name(field)
                .is_some_and(|n| n.id() == child.id())
        };
        let tells = |cond: Option<Node>| cond.and_then(|c| tells(c, object, attr, src));
        match parent.kind() {
            "if_statement" | "elif_clause" => {
                let cond = tells(parent.child_by_field_name("condition"));
                if on("consequence") && cond == Some(Tells::PresentIfTrue) {
                    return true;
                }
                // In an else/elif branch every earlier test was false.
                if parent.kind() == "if_statement"
                    && !on("consequence")
                    && !on("condition")
                    && cond == Some(Tells::PresentIfFalse)
                {
                    return true;
                }
            }
            "conditional_expression" => {
                // `a if cond else b`: named children in that order.
                let mut cursor = parent.walk();
                let parts: Vec<Node> = parent
                    .named_children(&mut cursor)
                    .filter(|n| n.kind() != "comment")
                    .collect();
                if let [a, cond, b] = parts[..] {
                    let t = tells(Some(cond));
                    if (a.id() == child.id() && t == Some(Tells::PresentIfTrue))
                        || (b.id() == child.id() && t == Some(Tells::PresentIfFalse))
                    {
                        return true;
                    }
                }
            }
            "boolean_operator" if on("right") => {
                let op = parent
                    .child_by_field_name("operator")
                    .map(|o| text(o, src))
                    .unwrap_or("");
                let t = tells(parent.child_by_field_name("left"));
                if (op == "and" && t == Some(Tells::PresentIfTrue))
                    || (op == "or" && t == Some(Tells::PresentIfFalse))
                {
                    return true;
                }
            }
            "list_comprehension"
            | "set_comprehension"
            | "dictionary_comprehension"
            | "generator_expression"
                if on("body") =>
            {
                let mut cursor = parent.walk();
                let filtered = parent
                    .named_children(&mut cursor)
                    .filter(|n| n.kind() == "if_clause")
                    .any(|clause| {
                        clause
                            .named_child(0)
                            .is_some_and(|c| tells(Some(c)) == Some(Tells::PresentIfTrue))
                    });
                if filtered {
                    return true;
                }
            }
            "try_statement" if on("body") && catches(parent, form, src) => return true,
            "block" | "module" if earlier_exit_or_assert(parent, child, object, attr, src) => {
                return true;
            }
            "function_definition" | "class_definition" | "lambda" => return false,
            _ => {}
        }
        child = parent;
    }
    false
}

/// How deep `not`, parentheses and `and`/`or` are followed inside one condition; deeper
/// nesting tells nothing (and costs no stack).
const MAX_CONDITION_DEPTH: usize = 32;

/// What `cond` tells about `object.attr`.
fn tells(cond: Node, object: &str, attr: &str, src: &[u8]) -> Option<Tells> {
    tells_within(cond, object, attr, src, MAX_CONDITION_DEPTH)
}

fn tells_within(cond: Node, object: &str, attr: &str, src: &[u8], depth: usize) -> Option<Tells> {
    let depth = depth.checked_sub(1)?;
    let inner = |n: Node| tells_within(n, object, attr, src, depth);
    match cond.kind() {
        "parenthesized_expression" => inner(cond.named_child(0)?),
        "not_operator" => {
            let inner = inner(cond.child_by_field_name("argument")?)?;
            Some(match inner {
                Tells::PresentIfTrue => Tells::PresentIfFalse,
                Tells::PresentIfFalse => Tells::PresentIfTrue,
            })
        }
        "boolean_operator" => {
            let op = text(cond.child_by_field_name("operator")?, src);
            let sides = [
                cond.child_by_field_name("left"),
                cond.child_by_field_name("right"),
            ];
            let told: Vec<Option<Tells>> = sides.iter().map(|s| s.and_then(inner)).collect();
            // `a and b` true: both true. `a or b` false: both false.
            match op {
                "and" if told.contains(&Some(Tells::PresentIfTrue)) => Some(Tells::PresentIfTrue),
                "or" if told.contains(&Some(Tells::PresentIfFalse)) => Some(Tells::PresentIfFalse),
                _ => None,
            }
        }
        "call" => {
            let function = text(cond.child_by_field_name("function")?, src);
            let args = call_args(cond)?;
            let names_it = |i: usize, j: usize| {
                args.get(i)
                    .is_some_and(|o| same_expr(text(*o, src), object))
                    && args
                        .get(j)
                        .and_then(|a| string_value(*a, src))
                        .is_some_and(|a| a == attr)
            };
            // hasattr(x, 'view'); a truthy getattr(x, 'view', None) also means it is there.
            let present = match function {
                "hasattr" => args.len() == 2 && names_it(0, 1),
                "getattr" => args.len() == 3 && names_it(0, 1),
                _ => false,
            };
            present.then_some(Tells::PresentIfTrue)
        }
        "comparison_operator" => {
            // 'view' in vars(x) / x.__dict__ / dir(x); `not in` is the opposite.
            let mut cursor = cond.walk();
            let operands: Vec<Node> = cond
                .named_children(&mut cursor)
                .filter(|n| n.kind() != "comment")
                .collect();
            let [key, container] = operands[..] else {
                return None;
            };
            if string_value(key, src)? != attr {
                return None;
            }
            let owner = dict_owner(container, src).or_else(|| dir_owner(container, src))?;
            if !same_expr(text(owner, src), object) {
                return None;
            }
            match text(cond.child_by_field_name("operators")?, src) {
                "in" => Some(Tells::PresentIfTrue),
                "not in" => Some(Tells::PresentIfFalse),
                _ => None,
            }
        }
        _ => None,
    }
}

/// For `dir(x)`: the node of `x`.
fn dir_owner<'t>(container: Node<'t>, src: &[u8]) -> Option<Node<'t>> {
    if container.kind() != "call" || text(container.child_by_field_name("function")?, src) != "dir"
    {
        return None;
    }
    let args = call_args(container)?;
    (args.len() == 1).then(|| args[0])
}

/// True when a `try` has a handler for what the read raises when the attribute is missing
/// (AttributeError, or KeyError for a dict item), a base of it, or a bare `except`.
fn catches(try_stmt: Node, form: Form, src: &[u8]) -> bool {
    let names = form.caught_by();
    let mut cursor = try_stmt.walk();
    try_stmt
        .named_children(&mut cursor)
        .filter(|n| n.kind() == "except_clause")
        .any(|clause| match clause.child_by_field_name("value") {
            None => true,
            Some(v) => {
                let caught = text(v, src);
                names.iter().any(|name| {
                    caught
                        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .any(|word| word == *name)
                })
            }
        })
}

/// True when a statement before `child` in `block` leaves only if the attribute is missing
/// (`if not hasattr(x, 'view'): return`) or asserts it (`assert hasattr(x, 'view')`).
fn earlier_exit_or_assert(block: Node, child: Node, object: &str, attr: &str, src: &[u8]) -> bool {
    let mut cursor = block.walk();
    let earlier: Vec<Node> = block
        .named_children(&mut cursor)
        .take_while(|s| s.id() != child.id())
        .collect();
    for stmt in earlier {
        match stmt.kind() {
            "assert_statement"
                if stmt
                    .named_child(0)
                    .and_then(|c| tells(c, object, attr, src))
                    == Some(Tells::PresentIfTrue) =>
            {
                return true;
            }
            "if_statement" if stmt.child_by_field_name("alternative").is_none() => {
                let absent_exits = stmt
                    .child_by_field_name("condition")
                    .and_then(|c| tells(c, object, attr, src))
                    == Some(Tells::PresentIfFalse);
                let exits = stmt
                    .child_by_field_name("consequence")
                    .and_then(|b| {
                        b.named_child(u32::try_from(b.named_child_count().checked_sub(1)?).ok()?)
                    })
                    .is_some_and(|last| {
                        matches!(
                            last.kind(),
                            "return_statement"
                                | "raise_statement"
                                | "continue_statement"
                                | "break_statement"
                        )
                    });
                if absent_exits && exits {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}
