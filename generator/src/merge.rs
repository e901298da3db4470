//! Three-way merge of one text file, line by line and in-process: the team's
//! edits (ours) and the template's change (theirs) against the version both
//! started from (base). Changes that touch different lines are combined;
//! changes to the same or adjacent lines, unless identical, become an inline
//! conflict labelled with both sides, never a `.rej` file or a silent loss.
use std::ops::Range;

use similar::{Algorithm, DiffOp, capture_diff_slices};

/// The outcome of a merge: the text, and how many conflicts it marks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merged {
    pub text: String,
    pub conflicts: usize,
}

/// Names shown on the conflict markers, such as "your version" and "template 0.2.0".
pub struct Labels<'a> {
    pub ours: &'a str,
    pub theirs: &'a str,
}

/// The marker lines of a conflict block: the opening and closing ones carry
/// their side's label after them.
pub const OPENING: &str = "<<<<<<< ";
pub const SEPARATOR: &str = "=======";
pub const CLOSING: &str = ">>>>>>> ";

/// A replacement of `base` lines by `lines` of one side.
#[derive(Debug, Clone)]
struct Hunk<'a> {
    base: Range<usize>,
    lines: &'a [&'a str],
}

pub fn merge(base: &str, ours: &str, theirs: &str, labels: &Labels) -> Merged {
    let base_lines: Vec<&str> = base.split_inclusive('\n').collect();
    let our_lines: Vec<&str> = ours.split_inclusive('\n').collect();
    let their_lines: Vec<&str> = theirs.split_inclusive('\n').collect();
    let our_hunks = hunks(&base_lines, &our_lines);
    let their_hunks = hunks(&base_lines, &their_lines);

    let mut text = String::with_capacity(ours.len().max(theirs.len()));
    let mut conflicts = 0;
    let mut at = 0; // next base line not yet written
    let (mut o, mut t) = (0, 0); // next hunk of each side
    while o < our_hunks.len() || t < their_hunks.len() {
        // A group starts at the earliest pending hunk and grows while a hunk of
        // either side overlaps or touches it.
        let start = match (our_hunks.get(o), their_hunks.get(t)) {
            (Some(a), Some(b)) => a.base.start.min(b.base.start),
            (Some(a), None) => a.base.start,
            (None, Some(b)) => b.base.start,
            (None, None) => unreachable!("the loop runs while hunks remain"),
        };
        let (o_first, t_first) = (o, t);
        let mut end = start;
        loop {
            if let Some(h) = our_hunks.get(o).filter(|h| h.base.start <= end) {
                end = end.max(h.base.end);
                o += 1;
            } else if let Some(h) = their_hunks.get(t).filter(|h| h.base.start <= end) {
                end = end.max(h.base.end);
                t += 1;
            } else {
                break;
            }
        }
        text.extend(base_lines[at..start].iter().copied());
        let group = start..end;
        let (our_group, their_group) = (&our_hunks[o_first..o], &their_hunks[t_first..t]);
        let mine = apply(&base_lines, &group, our_group);
        let template = apply(&base_lines, &group, their_group);
        if their_group.is_empty() || mine == template {
            text.push_str(&mine);
        } else if our_group.is_empty() {
            text.push_str(&template);
        } else {
            conflicts += 1;
            text.push_str(&format!("{OPENING}{}\n", labels.ours));
            push_line_block(&mut text, &mine);
            text.push_str(&format!("{SEPARATOR}\n"));
            push_line_block(&mut text, &template);
            text.push_str(&format!("{CLOSING}{}\n", labels.theirs));
        }
        at = end;
    }
    text.extend(base_lines[at..].iter().copied());
    Merged { text, conflicts }
}

/// `merge` for files that need not be UTF-8 (a Latin-1 README, say): lines
/// are compared as bytes, so every byte of every side is kept exactly. Text
/// that is UTF-8 on all sides merges as text; otherwise each byte stands for
/// one character (Latin-1) through the merge and back, and the labels are
/// written in ASCII.
pub fn merge_bytes(base: &[u8], ours: &[u8], theirs: &[u8], labels: &Labels) -> (Vec<u8>, usize) {
    // A team that turned a whole file to CRLF changed its line endings, not
    // every line: merged as LF, the result goes back to CRLF. (Merged as is,
    // every line would differ: one conflict the size of the file, and a diff
    // that takes minutes on a large one.)
    if ours == theirs {
        return (ours.to_vec(), 0);
    }
    if !base.contains(&b'\r') && is_crlf(ours) {
        let (merged, conflicts) = merge_bytes(base, &to_lf(ours), theirs, labels);
        return (to_crlf(&merged), conflicts);
    }
    if let (Ok(base), Ok(ours), Ok(theirs)) = (
        std::str::from_utf8(base),
        std::str::from_utf8(ours),
        std::str::from_utf8(theirs),
    ) {
        let merged = merge(base, ours, theirs, labels);
        return (merged.text.into_bytes(), merged.conflicts);
    }
    let widen = |bytes: &[u8]| -> String { bytes.iter().map(|&b| char::from(b)).collect() };
    let ascii = |label: &str| -> String {
        label
            .chars()
            .map(|c| {
                if c.is_ascii_graphic() || c == ' ' {
                    c
                } else {
                    '?'
                }
            })
            .collect()
    };
    let (ours_label, theirs_label) = (ascii(labels.ours), ascii(labels.theirs));
    let labels = Labels {
        ours: &ours_label,
        theirs: &theirs_label,
    };
    let merged = merge(&widen(base), &widen(ours), &widen(theirs), &labels);
    // Every char came from one byte or an ASCII label, so each fits in one.
    let bytes = merged
        .text
        .chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
        .collect();
    (bytes, merged.conflicts)
}

/// Whether every line of `text` ends in CRLF (the last may have no end).
fn is_crlf(text: &[u8]) -> bool {
    let newlines = text.iter().filter(|&&b| b == b'\n').count();
    newlines > 0 && text.windows(2).filter(|w| w == b"\r\n").count() == newlines
}

fn to_lf(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for (i, &b) in text.iter().enumerate() {
        if !(b == b'\r' && text.get(i + 1) == Some(&b'\n')) {
            out.push(b);
        }
    }
    out
}

/// `\n` becomes `\r\n`, unless it is one already.
fn to_crlf(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + text.len() / 16);
    for (i, &b) in text.iter().enumerate() {
        if b == b'\n' && (i == 0 || text[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

/// The changes that turn `base` into `side`, in base order: the gaps
/// between the runs of lines the diff matched. Only the matched runs are
/// read, as they alone fix the alignment.
fn hunks<'a>(base: &[&str], side: &'a [&'a str]) -> Vec<Hunk<'a>> {
    let mut matched: Vec<(usize, usize, usize)> = capture_diff_slices(Algorithm::Myers, base, side)
        .into_iter()
        .filter_map(|op| match op {
            DiffOp::Equal {
                old_index,
                new_index,
                len,
            } => Some((old_index, new_index, len)),
            _ => None,
        })
        .collect();
    matched.sort_unstable();
    matched.push((base.len(), side.len(), 0));
    let mut hunks = Vec::new();
    let (mut b, mut s) = (0, 0);
    for (old, new, len) in matched {
        if old > b || new > s {
            hunks.push(Hunk {
                base: b..old,
                lines: &side[s..new],
            });
        }
        (b, s) = (old + len, new + len);
    }
    hunks
}

/// The lines one side has for the base lines `group`, given its hunks there.
fn apply(base: &[&str], group: &Range<usize>, side: &[Hunk]) -> String {
    let mut out = String::new();
    let mut at = group.start;
    for hunk in side {
        out.extend(base[at..hunk.base.start].iter().copied());
        out.extend(hunk.lines.iter().copied());
        at = hunk.base.end;
    }
    out.extend(base[at..group.end].iter().copied());
    out
}

/// Appends `block`, ending it with a newline so a marker never joins a line.
fn push_line_block(text: &mut String, block: &str) {
    text.push_str(block);
    if !block.is_empty() && !block.ends_with('\n') {
        text.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const LABELS: Labels = Labels {
        ours: "your version",
        theirs: "template 0.2.0",
    };

    fn lines(text: &[&str]) -> String {
        text.iter().map(|l| format!("{l}\n")).collect()
    }

    #[test]
    fn edits_to_different_lines_are_combined() {
        let base = lines(&["a", "b", "c", "d", "e"]);
        let ours = lines(&["a", "B", "c", "d", "e"]);
        let theirs = lines(&["a", "b", "c", "d", "E", "f"]);
        let merged = merge(&base, &ours, &theirs, &LABELS);
        assert_eq!(merged.text, lines(&["a", "B", "c", "d", "E", "f"]));
        assert_eq!(merged.conflicts, 0);
    }

    #[test]
    fn identical_edits_are_not_conflicts() {
        let base = lines(&["a", "b"]);
        let both = lines(&["a", "x"]);
        let merged = merge(&base, &both, &both, &LABELS);
        assert_eq!(
            merged,
            Merged {
                text: both,
                conflicts: 0
            }
        );
    }

    #[test]
    fn overlapping_edits_are_marked_inline_with_both_labels() {
        let base = lines(&["a", "b", "c"]);
        let ours = lines(&["a", "mine", "c"]);
        let theirs = "a\ntheirs\nc"; // no final newline on this side
        let merged = merge(&base, &ours, theirs, &LABELS);
        assert_eq!(merged.conflicts, 1);
        assert_eq!(
            merged.text,
            // theirs also changed "c\n" to "c", so the conflict covers both lines.
            "a\n<<<<<<< your version\nmine\nc\n=======\ntheirs\nc\n>>>>>>> template 0.2.0\n"
        );
    }

    #[test]
    fn one_sided_changes_win_and_deletions_stay_deleted() {
        let base = lines(&["a", "b", "c"]);
        let merged = merge(&base, &lines(&["a", "c"]), &base, &LABELS);
        assert_eq!(merged.text, lines(&["a", "c"]));
        let merged = merge(&base, &base, &lines(&["a", "c", "d"]), &LABELS);
        assert_eq!(merged.text, lines(&["a", "c", "d"]));
    }

    /// One edit of a base line: replace it, delete it, or insert after it.
    #[derive(Debug, Clone)]
    enum Edit {
        Replace(Vec<String>),
        Delete,
        InsertAfter(Vec<String>),
    }

    fn edit() -> impl Strategy<Value = Edit> {
        let new_lines = prop::collection::vec("[a-z]{1,8}", 1..4);
        prop_oneof![
            new_lines.clone().prop_map(Edit::Replace),
            Just(Edit::Delete),
            new_lines.prop_map(Edit::InsertAfter),
        ]
    }

    /// Applies `edits` (by base line) to `base`; new lines are tagged with `side`.
    fn apply_edits(base: &[String], edits: &[(usize, Edit, bool)], ours: bool) -> String {
        let mut out = String::new();
        for (i, line) in base.iter().enumerate() {
            let edit = edits.iter().find(|(at, _, side)| *at == i && *side == ours);
            let tag = |l: &String| format!("{}-{l}\n", if ours { "ours" } else { "theirs" });
            match edit.map(|(_, e, _)| e) {
                None => out.push_str(&format!("{line}\n")),
                Some(Edit::Replace(new)) => out.extend(new.iter().map(tag)),
                Some(Edit::Delete) => {}
                Some(Edit::InsertAfter(new)) => {
                    out.push_str(&format!("{line}\n"));
                    out.extend(new.iter().map(tag));
                }
            }
        }
        out
    }

    proptest! {
        // Random edits of the two sides, at least one untouched line apart,
        // all end up in the merge, which has no conflict.
        #[test]
        fn non_overlapping_edits_are_all_kept(
            len in 4usize..60,
            picks in prop::collection::vec((0usize..60, edit(), any::<bool>()), 0..12),
        ) {
            let base: Vec<String> = (0..len).map(|i| format!("base line {i}")).collect();
            // Keep edits two lines apart, so each has an untouched line after it.
            let mut edits: Vec<(usize, Edit, bool)> = Vec::new();
            for (at, edit, ours) in picks {
                let at = at % len;
                if at + 1 < len && edits.iter().all(|(other, _, _)| at.abs_diff(*other) >= 2) {
                    edits.push((at, edit, ours));
                }
            }
            let base_text: String = base.iter().map(|l| format!("{l}\n")).collect();
            let ours = apply_edits(&base, &edits, true);
            let theirs = apply_edits(&base, &edits, false);
            let merged = merge(&base_text, &ours, &theirs, &LABELS);
            prop_assert_eq!(merged.conflicts, 0);
            // The expected result applies every edit, whichever side made it.
            let mut expected = String::new();
            for (i, line) in base.iter().enumerate() {
                match edits.iter().find(|(at, _, _)| *at == i) {
                    None => expected.push_str(&format!("{line}\n")),
                    Some((_, edit, ours)) => {
                        let one = apply_edits(&base[i..=i], &[(0, edit.clone(), *ours)], *ours);
                        expected.push_str(&one);
                    }
                }
            }
            prop_assert_eq!(merged.text, expected);
        }

        // Merging a side with an unchanged other side gives that side back.
        #[test]
        fn a_one_sided_change_is_taken_whole(
            base in prop::collection::vec("[a-c]{0,3}", 0..20),
            side in prop::collection::vec("[a-c]{0,3}", 0..20),
        ) {
            let base: String = base.iter().map(|l| format!("{l}\n")).collect();
            let side: String = side.iter().map(|l| format!("{l}\n")).collect();
            prop_assert_eq!(merge(&base, &side, &base, &LABELS).text, side.clone());
            prop_assert_eq!(merge(&base, &base, &side, &LABELS).text, side);
        }

        // Any bytes (Latin-1, broken UTF-8, CRLF): a change on one side is
        // taken byte for byte, and a merge without conflicts loses no byte
        // of either side's change.
        #[test]
        fn bytes_merge_exactly(
            base in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..6), 0..12),
            side in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..6), 0..12),
        ) {
            let join = |lines: &[Vec<u8>]| -> Vec<u8> {
                lines.iter().flat_map(|l| l.iter().copied().chain([b'\n'])).collect()
            };
            let (base, side) = (join(&base), join(&side));
            prop_assert_eq!(merge_bytes(&base, &side, &base, &LABELS), (side.clone(), 0));
            prop_assert_eq!(merge_bytes(&base, &base, &side, &LABELS), (side.clone(), 0));
            prop_assert_eq!(merge_bytes(&base, &side, &side, &LABELS), (side, 0));
        }

        // The team's CRLF conversion and the template's change both stay.
        #[test]
        fn a_crlf_conversion_takes_the_templates_change(
            base in prop::collection::vec("[a-c]{0,3}", 1..20),
            theirs in prop::collection::vec("[a-c]{0,3}", 1..20),
        ) {
            let base: String = base.iter().map(|l| format!("{l}\n")).collect();
            let theirs: String = theirs.iter().map(|l| format!("{l}\n")).collect();
            let ours = base.replace('\n', "\r\n");
            let merged = merge_bytes(base.as_bytes(), ours.as_bytes(), theirs.as_bytes(), &LABELS);
            prop_assert_eq!(merged, (theirs.replace('\n', "\r\n").into_bytes(), 0));
        }
    }

    // Found by `bytes_merge_exactly`: both sides adding the same CRLF line
    // to an empty file conflicted, the team's side taken as a conversion.
    #[test]
    fn the_same_crlf_line_added_on_both_sides_is_one_change() {
        assert_eq!(
            merge_bytes(b"", b"\r\n", b"\r\n", &LABELS),
            (b"\r\n".to_vec(), 0)
        );
        assert_eq!(merge_bytes(b"", b"a\r\n", b"b\r\n", &LABELS).1, 1);
    }

    // A file the team turned to CRLF takes the template's change in CRLF,
    // without conflict (merged as is, this one conflicted on every line).
    #[test]
    fn a_file_turned_to_crlf_merges_as_its_lines() {
        let base: String = (0..200_000).map(|n| format!("line {n}\n")).collect();
        let theirs = base.replacen("line 7\n", "line seven\n", 1);
        let ours = base.replace('\n', "\r\n");
        let (merged, conflicts) =
            merge_bytes(base.as_bytes(), ours.as_bytes(), theirs.as_bytes(), &LABELS);
        assert_eq!(conflicts, 0);
        assert_eq!(merged, theirs.replace('\n', "\r\n").into_bytes());
    }

    #[test]
    fn latin1_files_merge_and_keep_their_bytes() {
        let base = b"caf\xe9\nb\nc\n";
        let ours = b"caf\xe9 cr\xe8me\nb\nc\n";
        let theirs = b"caf\xe9\nb\nc\nnew\n";
        let (merged, conflicts) = merge_bytes(base, ours, theirs, &LABELS);
        assert_eq!(
            (merged.as_slice(), conflicts),
            (&b"caf\xe9 cr\xe8me\nb\nc\nnew\n"[..], 0)
        );
        let (marked, conflicts) = merge_bytes(base, ours, b"cafe\nb\nc\n", &LABELS);
        assert_eq!(conflicts, 1);
        assert!(marked.starts_with(b"<<<<<<< your version\ncaf\xe9 cr\xe8me\n=======\ncafe\n"));
    }
}
