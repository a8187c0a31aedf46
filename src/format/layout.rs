//! The canonical layout: statements in their canonical text, two spaces of indentation per
//! block, the comments and (collapsed) blank lines of the source in their places.
//!
//! What the layout keeps from the source, because the author chose it for reading: statements
//! written on one line with `;` stay on one line, a block written on one line stays on one line,
//! a trailing comment keeps its column when the line still ends before it (so aligned comments
//! stay aligned), and a statement that spans lines (a JSON pattern written over several lines)
//! is kept as written, its lines moved with the statement's indentation.

use crate::format::spelling;
use crate::format::tree::{Block, Node};
use crate::format::trivia::{self, Comment, Leading, Unexpected};

const INDENT: &str = "  ";

/// Blanks between a statement and a comment after it.
const MIN_COMMENT_GAP: usize = 2;

/// A tab in the indentation of a continuation line counts as this many spaces.
const TAB_WIDTH: usize = 2;

/// Statements that share a line, with the comments around them.
struct Unit<'n> {
    members: Vec<&'n Node>,
    leading: Vec<Leading>,
    trailing: Option<Comment>,
}

/// The statements of a block (or the file) grouped into lines, and the comments around them.
struct Body<'n> {
    /// A comment after the `{`.
    open_trailing: Option<Comment>,
    units: Vec<Unit<'n>>,
    /// Comment lines before the `}` (or the end of the file).
    closing: Vec<Leading>,
}

pub struct Layout<'t> {
    text: &'t str,
    lines: Vec<String>,
}

impl<'t> Layout<'t> {
    pub fn new(text: &'t str) -> Self {
        Layout {
            text,
            lines: Vec::new(),
        }
    }

    /// The whole file: top-level statements, `let`s first, a blank line around each test.
    pub fn file(mut self, nodes: &[Node]) -> Result<String, Unexpected> {
        let mut body = self.body(nodes, 0, self.text.len(), true)?;
        lets_first(&mut body.units);
        for index in 1..body.units.len() {
            let around_test = body.units[index - 1].has_test() || body.units[index].has_test();
            if around_test && body.units[index].leading.first() != Some(&Leading::Blank) {
                body.units[index].leading.insert(0, Leading::Blank);
            }
        }
        self.units(&body.units, 0)?;
        self.leading(&body.closing, 0);
        let mut out = self.lines.join("\n");
        if !out.is_empty() {
            out.push('\n');
        }
        Ok(out)
    }

    /// Groups `nodes` (the statements between `from` and `to`) into lines, with their trivia.
    fn body<'n>(
        &self,
        nodes: &'n [Node],
        from: usize,
        to: usize,
        at_line_start: bool,
    ) -> Result<Body<'n>, Unexpected> {
        let first_start = nodes.first().map_or(to, |node| node.span.start);
        let gap = trivia::read_gap(self.text, from, first_start, at_line_start)?;
        let mut body = Body {
            open_trailing: gap.trailing,
            units: Vec::new(),
            closing: Vec::new(),
        };
        let mut leading = gap.leading;
        let mut previous_end = from;
        for node in nodes {
            if !body.units.is_empty() {
                let gap = trivia::read_gap(self.text, previous_end, node.span.start, false)?;
                if gap.same_line {
                    if let Some(unit) = body.units.last_mut() {
                        unit.members.push(node);
                    }
                    previous_end = node.span.end;
                    continue;
                }
                if let Some(unit) = body.units.last_mut() {
                    unit.trailing = gap.trailing;
                }
                leading = gap.leading;
            }
            body.units.push(Unit {
                members: vec![node],
                leading: std::mem::take(&mut leading),
                trailing: None,
            });
            previous_end = node.span.end;
        }
        if let Some(unit) = body.units.last_mut() {
            let gap = trivia::read_gap(self.text, previous_end, to, false)?;
            unit.trailing = gap.trailing;
            body.closing = gap.leading;
        } else {
            body.closing = leading;
        }
        // No blank line right after an opening brace or before a closing one.
        match body.units.first_mut() {
            Some(unit) => trim_blanks_at_start(&mut unit.leading),
            None => trim_blanks_at_start(&mut body.closing),
        }
        while body.closing.last() == Some(&Leading::Blank) {
            body.closing.pop();
        }
        Ok(body)
    }

    fn units(&mut self, units: &[Unit<'_>], depth: usize) -> Result<(), Unexpected> {
        for unit in units {
            self.leading(&unit.leading, depth);
            self.lines.push(INDENT.repeat(depth));
            for (index, node) in unit.members.iter().enumerate() {
                if index > 0 {
                    self.append("; ");
                }
                self.node(node, depth)?;
            }
            if let Some(comment) = &unit.trailing {
                self.attach(comment);
            }
        }
        Ok(())
    }

    fn leading(&mut self, leading: &[Leading], depth: usize) {
        for line in leading {
            match line {
                Leading::Blank => self.lines.push(String::new()),
                Leading::Comment(comment) => {
                    self.lines
                        .push(format!("{}{}", INDENT.repeat(depth), comment.text))
                }
            }
        }
    }

    /// Appends a statement to the current line (and the lines of its block after it).
    fn node(&mut self, node: &Node, depth: usize) -> Result<(), Unexpected> {
        let head_source = &self.text[node.span.start..node.head_end()];
        if head_source.contains('\n') {
            self.verbatim(node.span.start, head_source.trim_end());
        } else {
            self.append(&spelling::keep_written(&node.head, head_source));
        }
        let Some(block) = &node.block else {
            return Ok(());
        };
        if !self.text[block.open..block.close].contains('\n') {
            return self.one_line_block(block, depth);
        }
        self.append(" {");
        let body = self.body(&block.children, block.open + 1, block.close, false)?;
        if let Some(comment) = &body.open_trailing {
            self.attach(comment);
        }
        self.units(&body.units, depth + 1)?;
        self.leading(&body.closing, depth + 1);
        self.lines.push(format!("{}}}", INDENT.repeat(depth)));
        Ok(())
    }

    /// `{ a; b; c }`, as the source wrote it on one line (which leaves no room for comments).
    fn one_line_block(&mut self, block: &Block, depth: usize) -> Result<(), Unexpected> {
        if block.children.is_empty() {
            self.append(" {}");
            return Ok(());
        }
        self.append(" { ");
        for (index, child) in block.children.iter().enumerate() {
            if index > 0 {
                self.append("; ");
            }
            self.node(child, depth)?;
        }
        self.append(" }");
        Ok(())
    }

    /// A statement that spans lines, as written: its first line goes on the current line, the
    /// others move as far left or right as its first character did, so what they were aligned
    /// with stays aligned.
    fn verbatim(&mut self, start: usize, source: &str) {
        let line_start = self.text[..start].rfind('\n').map_or(0, |i| i + 1);
        let old_column = width_of(&self.text[line_start..start]);
        let new_column = self.lines.last().map_or(0, |line| line.chars().count());
        let mut lines = source.split('\n');
        if let Some(first) = lines.next() {
            self.append(first.trim_end());
        }
        for line in lines {
            let content = line.trim();
            if content.is_empty() {
                self.lines.push(String::new());
                continue;
            }
            let width = (indent_width(line) + new_column).saturating_sub(old_column);
            self.lines.push(format!("{}{content}", " ".repeat(width)));
        }
    }

    fn append(&mut self, text: &str) {
        match self.lines.last_mut() {
            Some(line) => line.push_str(text),
            None => self.lines.push(text.to_string()),
        }
    }

    /// A trailing comment: at its old column when the line ends two spaces before it, else two
    /// spaces after the line.
    fn attach(&mut self, comment: &Comment) {
        let Some(line) = self.lines.last_mut() else {
            return;
        };
        let width = line.chars().count();
        let pad = comment.column.saturating_sub(width).max(MIN_COMMENT_GAP);
        line.push_str(&" ".repeat(pad));
        line.push_str(&comment.text);
    }
}

impl Unit<'_> {
    fn has_test(&self) -> bool {
        self.members.iter().any(|node| node.is_test)
    }

    fn only_lets(&self) -> bool {
        self.members.iter().all(|node| node.is_let)
    }
}

/// `let`s written after a test move up to just before the first test, with their comments.
/// (Where a `let` stands in the file does not change what it means.)
fn lets_first(units: &mut Vec<Unit<'_>>) {
    let Some(first_test) = units.iter().position(Unit::has_test) else {
        return;
    };
    let mut moved = 0;
    for index in first_test + 1..units.len() {
        if units[index].only_lets() {
            let unit = units.remove(index);
            units.insert(first_test + moved, unit);
            moved += 1;
        }
    }
}

fn trim_blanks_at_start(leading: &mut Vec<Leading>) {
    while leading.first() == Some(&Leading::Blank) {
        leading.remove(0);
    }
}

/// The width of the blanks a line starts with.
fn indent_width(line: &str) -> usize {
    width_of(line.split(|c| c != ' ' && c != '\t').next().unwrap_or(""))
}

/// The width of some text on a line: one column a character, [`TAB_WIDTH`] a tab.
fn width_of(text: &str) -> usize {
    text.chars()
        .map(|c| if c == '\t' { TAB_WIDTH } else { 1 })
        .sum()
}
