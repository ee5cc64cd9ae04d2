//! Folding text before it is matched: full-width forms to ASCII, Latin letters to lower case,
//! whitespace runs to one space, so that one pattern covers the ways people type it.

/// One character folded: a full-width ASCII form (`０`, `Ａ`, `－`) becomes its ASCII
/// character, the ideographic space a space, ASCII letters lower case.
pub fn fold_char(c: char) -> char {
    let c = match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    };
    c.to_ascii_lowercase()
}

/// The text folded character by character, with every run of whitespace one space.
pub fn fold_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_space = false;
    for c in text.chars().map(fold_char) {
        if c.is_whitespace() {
            if !in_space {
                out.push(' ');
            }
            in_space = true;
        } else {
            out.push(c);
            in_space = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_full_width_case_and_spaces() {
        assert_eq!(
            fold_text("０１０－１２\u{3000}\u{3000}ＡｂC\n\t카톡"),
            "010-12 abc 카톡"
        );
        assert_eq!(fold_char('Ｏ'), 'o');
        assert_eq!(fold_char('가'), '가');
    }
}
