//! What the syntax tree does not hold: the comments and blank lines between statements. The
//! grammar skips them, so they are read back from the source text in the gaps between the spans
//! of the statements, where nothing but blanks, line breaks, `;` and comments can be.

/// A `#` comment as written, and the column it started at (in characters), so a trailing
/// comment can stay where the author aligned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    pub text: String,
    pub column: usize,
}

/// What comes before a statement on lines of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leading {
    Blank,
    Comment(Comment),
}

/// The trivia of one gap between two statements (or a brace and a statement).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Gap {
    /// No line break: the statements share a line (`a; b`).
    pub same_line: bool,
    /// A comment at the end of the line the gap starts on.
    pub trailing: Option<Comment>,
    /// Comment lines and blank lines (at most one in a row) after that line.
    pub leading: Vec<Leading>,
}

/// An error that means the spans do not fit the text: the formatter leaves such a file alone.
#[derive(Debug)]
pub struct Unexpected(pub usize);

/// Reads the gap `text[from..to]`. `line_started` says whether the gap starts at the beginning of
/// a line (the start of the file) rather than after a statement or a brace.
pub fn read_gap(text: &str, from: usize, to: usize, line_started: bool) -> Result<Gap, Unexpected> {
    let mut gap = Gap {
        same_line: true,
        ..Gap::default()
    };
    // Line breaks since the last line with content ended; two mean a blank line.
    let mut breaks = usize::from(line_started);
    let mut position = from;
    let bytes = text.as_bytes();
    while position < to {
        match bytes[position] {
            b' ' | b'\t' | b'\r' | b';' => position += 1,
            b'\n' => {
                gap.same_line = false;
                breaks += 1;
                position += 1;
            }
            b'#' => {
                let end = text[position..to]
                    .find('\n')
                    .map_or(to, |offset| position + offset);
                let comment = Comment {
                    text: text[position..end].trim_end().to_string(),
                    column: column_of(text, position),
                };
                if breaks == 0 {
                    gap.trailing = Some(comment);
                } else {
                    if breaks >= 2 {
                        push_blank(&mut gap.leading);
                    }
                    gap.leading.push(Leading::Comment(comment));
                }
                breaks = 0;
                position = end;
            }
            _ => return Err(Unexpected(position)),
        }
    }
    if breaks >= 2 {
        push_blank(&mut gap.leading);
    }
    Ok(gap)
}

fn push_blank(leading: &mut Vec<Leading>) {
    if leading.last() != Some(&Leading::Blank) {
        leading.push(Leading::Blank);
    }
}

/// The offset of the first character after `from` that is not trivia.
pub fn skip(text: &str, from: usize) -> usize {
    let bytes = text.as_bytes();
    let mut position = from;
    while position < bytes.len() {
        match bytes[position] {
            b' ' | b'\t' | b'\r' | b'\n' | b';' => position += 1,
            b'#' => {
                position = text[position..]
                    .find('\n')
                    .map_or(text.len(), |offset| position + offset)
            }
            _ => break,
        }
    }
    position
}

/// The column (in characters, from 0) of a byte offset.
pub fn column_of(text: &str, offset: usize) -> usize {
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    text[line_start..offset].chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comment(text: &str, column: usize) -> Comment {
        Comment {
            text: text.to_string(),
            column,
        }
    }

    #[test]
    fn a_gap_without_a_line_break_joins_statements() {
        let text = "a ; b";
        let gap = read_gap(text, 1, 4, false).unwrap();
        assert!(gap.same_line);
        assert_eq!(gap.trailing, None);
    }

    #[test]
    fn trailing_comments_blank_lines_and_comment_lines() {
        let text = "a   # after a\n\n\n  # before b\n\n  # also\nb";
        let gap = read_gap(text, 1, text.len() - 1, false).unwrap();
        assert!(!gap.same_line);
        assert_eq!(gap.trailing, Some(comment("# after a", 4)));
        assert_eq!(
            gap.leading,
            vec![
                Leading::Blank,
                Leading::Comment(comment("# before b", 2)),
                Leading::Blank,
                Leading::Comment(comment("# also", 2)),
            ]
        );
    }

    #[test]
    fn anything_but_trivia_is_unexpected() {
        assert!(read_gap("a x b", 1, 4, false).is_err());
        assert_eq!(skip("  # c\n ; }", 0), 9);
    }
}
