//! The statements of a parsed spec as the formatter lays them out: each with its canonical text
//! (through the renderers of [`crate::render`]) and where it is in the source, and for the ones
//! that hold a block, where the braces are and what is inside.

use crate::ast::*;
use crate::format::trivia::{self, Unexpected};
use crate::render::render_where;
use crate::render::statements::{
    render_branch_head, render_entry, render_let, render_step, render_test_head,
};
use crate::source::Span;

/// One statement: a `let`, a test, a step or a block entry.
#[derive(Debug)]
pub struct Node {
    /// From its first character through its last (for a block, its `}`).
    pub span: Span,
    /// The canonical text, or for a block the head before the `{`.
    pub head: String,
    pub block: Option<Block>,
    pub is_test: bool,
    pub is_let: bool,
}

#[derive(Debug)]
pub struct Block {
    /// The offsets of the `{` and the `}`.
    pub open: usize,
    pub close: usize,
    pub children: Vec<Node>,
}

impl Node {
    /// Where the head ends in the source: the `{` of a block, else the end of the statement.
    pub fn head_end(&self) -> usize {
        self.block
            .as_ref()
            .map_or(self.span.end, |block| block.open)
    }

    fn leaf(span: Span, head: String) -> Node {
        Node {
            span,
            head,
            block: None,
            is_test: false,
            is_let: false,
        }
    }
}

/// The top-level statements of a file, in source order.
pub fn file_nodes(spec: &Spec, text: &str) -> Result<Vec<Node>, Unexpected> {
    let mut nodes = Vec::new();
    for decl in &spec.lets {
        let mut node = Node::leaf(decl.span, render_let(decl));
        node.is_let = true;
        nodes.push(node);
    }
    for test in &spec.tests {
        let head_end = test
            .tags
            .last()
            .map_or(test.name.span.end, |tag| tag.span.end);
        let open = find_open(text, head_end)?;
        let children = test
            .steps
            .iter()
            .map(|step| step_node(step, text))
            .collect::<Result<_, _>>()?;
        nodes.push(Node {
            span: test.span,
            head: render_test_head(test),
            block: Some(Block {
                open,
                close: closing_brace(text, test.span)?,
                children,
            }),
            is_test: true,
            is_let: false,
        });
    }
    nodes.sort_by_key(|node| node.span.start);
    Ok(nodes)
}

fn step_node(step: &Step, text: &str) -> Result<Node, Unexpected> {
    let mut node = Node::leaf(step.span, render_step(&step.kind));
    node.block = match &step.kind {
        StepKind::Expect(Expectation::Stream(block)) => Some(Block {
            open: opening_brace(text, block.block_span)?,
            close: closing_brace(text, block.block_span)?,
            children: entry_nodes(&block.entries, text)?,
        }),
        StepKind::Repeat(repeat) => Some(steps_block(&repeat.steps, repeat.block_span, text)?),
        // The parallel's span is the whole step: its `{` is the first after the keyword.
        StepKind::Parallel(parallel) => Some(Block {
            open: find_open(text, step.span.start)?,
            close: closing_brace(text, step.span)?,
            children: parallel
                .branches
                .iter()
                .map(|branch| branch_node(branch, text))
                .collect::<Result<_, _>>()?,
        }),
        _ => None,
    };
    Ok(node)
}

/// `branch reader 5 times as i { … }` in a `parallel`.
fn branch_node(branch: &Branch, text: &str) -> Result<Node, Unexpected> {
    Ok(Node {
        span: branch.span,
        head: render_branch_head(branch),
        block: Some(steps_block(&branch.steps, branch.block_span, text)?),
        is_test: false,
        is_let: false,
    })
}

/// The steps of a `repeat` or a `branch`, between the braces of `block_span`.
fn steps_block(steps: &[Step], block_span: Span, text: &str) -> Result<Block, Unexpected> {
    Ok(Block {
        open: opening_brace(text, block_span)?,
        close: closing_brace(text, block_span)?,
        children: steps
            .iter()
            .map(|step| step_node(step, text))
            .collect::<Result<_, _>>()?,
    })
}

fn entry_nodes(entries: &[Entry], text: &str) -> Result<Vec<Node>, Unexpected> {
    let mut nodes = Vec::new();
    for entry in entries {
        let span = entry.span;
        match &entry.kind {
            EntryKind::Repeat { body, .. } => nodes.push(block_node(
                entry,
                text,
                span.start,
                entry_nodes(body, text)?,
            )?),
            EntryKind::Until { stop, body } => nodes.push(block_node(
                entry,
                text,
                stop.span.end,
                entry_nodes(body, text)?,
            )?),
            EntryKind::AnyOrder(lines) => {
                let children = lines
                    .iter()
                    .map(|line| Node::leaf(line.span, render_entry(&EntryKind::Item(line.clone()))))
                    .collect();
                nodes.push(block_node(entry, text, span.start, children)?);
            }
            EntryKind::Split(groups) => {
                for group in groups {
                    let open = find_open(text, group.value.span.end)?;
                    let children = entry_nodes(&group.body, text)?;
                    let after = children
                        .last()
                        .map_or(open + 1, |last: &Node| last.span.end);
                    let close = trivia::skip(text, after);
                    if text.as_bytes().get(close) != Some(&b'}') {
                        return Err(Unexpected(close));
                    }
                    nodes.push(Node {
                        span: Span::new(group.span.start, close + 1),
                        head: render_where(group),
                        block: Some(Block {
                            open,
                            close,
                            children,
                        }),
                        is_test: false,
                        is_let: false,
                    });
                }
            }
            kind => nodes.push(Node::leaf(span, render_entry(kind))),
        }
    }
    Ok(nodes)
}

/// A repetition, `until` or `any order`: its `{` is the first after `head_from`.
fn block_node(
    entry: &Entry,
    text: &str,
    head_from: usize,
    children: Vec<Node>,
) -> Result<Node, Unexpected> {
    Ok(Node {
        span: entry.span,
        head: render_entry(&entry.kind),
        block: Some(Block {
            open: find_open(text, head_from)?,
            close: closing_brace(text, entry.span)?,
            children,
        }),
        is_test: false,
        is_let: false,
    })
}

/// The `{` that opens a block: the first after `from`, where what is left of the head holds no
/// brace (a test's tags, a quantifier and `times`, the end of an `until` or `where` pattern).
fn find_open(text: &str, from: usize) -> Result<usize, Unexpected> {
    let position = text
        .get(from..)
        .and_then(|rest| rest.find('{'))
        .map(|offset| from + offset)
        .ok_or(Unexpected(from))?;
    // The brace is on the head's line: no comment or line break comes before it.
    if text[from..position].contains(['\n', '#']) {
        Err(Unexpected(from))
    } else {
        Ok(position)
    }
}

/// The `{` at the start of a block's span.
fn opening_brace(text: &str, span: Span) -> Result<usize, Unexpected> {
    if text.as_bytes().get(span.start) == Some(&b'{') {
        Ok(span.start)
    } else {
        Err(Unexpected(span.start))
    }
}

/// The `}` at the end of a span that ends with a block.
fn closing_brace(text: &str, span: Span) -> Result<usize, Unexpected> {
    let close = span.end.checked_sub(1).ok_or(Unexpected(span.end))?;
    if text.as_bytes().get(close) == Some(&b'}') {
        Ok(close)
    } else {
        Err(Unexpected(close))
    }
}
