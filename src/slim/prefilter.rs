//! A quick opcode-only pass that tells whether any rule could touch a file (a class a rule
//! names must appear as a GLOBAL name or a string in the stream), so files no rule reaches are
//! left alone without building their object graph. Also picks up the task name on the way.

use crate::pickle::Op;
use crate::pickle::scan::read_instr;

use super::rules::Rules;

/// What the quick pass found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Quick {
    /// False only when no rule can match any class in the file.
    pub may_match: bool,
    /// The text before `(` of the first `pipeline_casa_task` string value, if seen.
    pub task: Option<String>,
}

/// The last dotted component of every rule's class pattern, or `None` when some pattern's last
/// component has a wildcard (then nothing can be ruled out by name).
fn needles(rules: &Rules) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for r in &rules.transient {
        let last = r.class.rsplit('.').next().unwrap_or(&r.class);
        // A wildcard, or a name the model makes up or decodes ("?" for a class it cannot
        // name, "ndarray" for numpy's array constructors, non-ASCII text that latin-1 strings
        // spell differently): nothing can be ruled out by comparing bytes.
        if last.contains('*') || matches!(last, "?" | "ndarray") || !last.is_ascii() {
            return None;
        }
        out.push(last.as_bytes().to_vec());
    }
    Some(out)
}

/// True when `name` (a class's qualified name, e.g. `Outer.Inner`) ends with one of the
/// needles as its last dotted component.
fn names_any(needles: &[Vec<u8>], name: &[u8]) -> bool {
    let last = name.rsplit(|&b| b == b'.').next().unwrap_or(name);
    needles.iter().any(|n| n.as_slice() == last)
}

/// Scans the opcodes of `data` (all pickles in it). Any problem reading the stream answers
/// "may match", so the full reader sees the file and reports it.
pub fn quick_scan(data: &[u8], rules: &Rules) -> Quick {
    let Some(needles) = needles(rules) else {
        return Quick {
            may_match: true,
            task: None,
        };
    };
    let mut q = Quick::default();
    let mut pos = 0;
    let mut after_task_key = false;
    let mut saw_stop = false;
    while pos < data.len() {
        let Ok(i) = read_instr(data, pos) else {
            // Bytes after a complete pickle are trailing data; anything else is the full
            // reader's to judge (and report).
            q.may_match |= !saw_stop;
            return q;
        };
        pos = i.end;
        saw_stop |= i.op == Op::STOP;
        match i.op {
            Op::GLOBAL | Op::INST => {
                let name = i.arg.rsplit(|&b| b == b'\n').next().unwrap_or(&[]);
                if names_any(&needles, name) {
                    q.may_match = true;
                }
            }
            Op::SHORT_BINUNICODE
            | Op::BINUNICODE
            | Op::BINUNICODE8
            | Op::UNICODE
            | Op::SHORT_BINSTRING
            | Op::BINSTRING
            | Op::STRING => {
                let s = if i.op == Op::STRING && i.arg.len() >= 2 {
                    &i.arg[1..i.arg.len() - 1]
                } else {
                    i.arg
                };
                // Escaped text (protocol 0) decodes to something else than its bytes.
                if matches!(i.op, Op::UNICODE | Op::STRING) && s.contains(&b'\\') {
                    q.may_match = true;
                }
                if names_any(&needles, s) {
                    q.may_match = true;
                }
                if after_task_key && q.task.is_none() {
                    let t = String::from_utf8_lossy(s);
                    let t = t.split('(').next().unwrap_or("").trim();
                    if !t.is_empty() {
                        q.task = Some(t.to_string());
                    }
                }
                after_task_key = s == b"pipeline_casa_task";
            }
            Op::MEMOIZE | Op::BINPUT | Op::LONG_BINPUT | Op::PUT | Op::FRAME => {}
            _ => after_task_key = false,
        }
        if q.may_match && q.task.is_some() {
            return q;
        }
    }
    // An empty file or one that ends before STOP goes to the full reader.
    q.may_match |= !saw_stop;
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(class: &str) -> Rules {
        let mut r = Rules::default();
        r.add(class, "view");
        r
    }

    #[test]
    fn names_in_globals_and_strings_are_found() {
        // protocol 0 GLOBAL
        let p0 = b"cpipeline.x\nRawflagchansResults\n)\x81.";
        assert!(quick_scan(p0, &rules("*.RawflagchansResults")).may_match);
        assert!(!quick_scan(p0, &rules("*.TsysflagResults")).may_match);
        // protocol 4 STACK_GLOBAL operands are strings
        let p4 = b"\x80\x04\x8c\npipeline.x\x94\x8c\x13RawflagchansResults\x94\x93\x94.";
        assert!(quick_scan(p4, &rules("pipeline.x.RawflagchansResults")).may_match);
        assert!(!quick_scan(p4, &rules("pipeline.x.Other")).may_match);
        // a wildcard in the last component rules nothing out
        assert!(quick_scan(p4, &rules("*Results*")).may_match);
    }

    #[test]
    fn names_the_model_derives_are_not_ruled_out() {
        // A nested class: GLOBAL names `Outer.Inner`, the model calls it `m.Outer.Inner`.
        let nested = b"\x80\x02cm\nOuter.Inner\n)\x81}X\x01\x00\x00\x00aK\x01sb.";
        assert!(quick_scan(nested, &rules("*.Inner")).may_match);
        assert!(quick_scan(nested, &rules("m.Outer.Inner")).may_match);
        // A class the model cannot name ("?", e.g. from an EXT code) is never in the stream.
        assert!(quick_scan(b"\x80\x02\x82\x01)\x81.", &rules("?")).may_match);
        // Escaped protocol 0 text decodes to something else than its bytes.
        assert!(quick_scan(b"V\\u0041\n.", &rules("*.A")).may_match);
        // numpy's constructors are named `numpy.ndarray` by the model (found by fuzzing).
        let p5 = b"\x80\x05cnumpy.core.numeric\n_frombuffer\n).";
        assert!(quick_scan(p5, &rules("numpy.ndarray")).may_match);
    }

    #[test]
    fn task_name_follows_its_key() {
        let d =
            b"\x80\x04}\x94(\x8c\x12pipeline_casa_task\x94\x8c\x19hif_refant(vis=['a.ms'])\x94u.";
        let q = quick_scan(d, &rules("*.X"));
        assert_eq!(q.task.as_deref(), Some("hif_refant"));
        assert!(!q.may_match);
    }

    #[test]
    fn unreadable_streams_go_to_the_full_reader() {
        assert!(quick_scan(b"\x80\x04\xff", &rules("*.X")).may_match);
        assert!(quick_scan(b"", &rules("*.X")).may_match);
        assert!(quick_scan(b"\x80\x04N", &rules("*.X")).may_match);
        // junk after a complete pickle is trailing data, not a reason to parse
        assert!(!quick_scan(b"\x80\x04N.\xff\xff", &rules("*.X")).may_match);
    }
}
