//! The block tree: statements (`keyword args...`) with optional `{ }` bodies.
//!
//! keepalived reads line by line. What it accepts, and so what we accept:
//! - `{` at the end of a statement, or alone at the start of the next line;
//! - a short body on one line, `virtual_ipaddress { 10.0.0.1 }`: the text
//!   between `{` and `}` is ONE statement (keepalived never splits it into
//!   several keywords: `authentication { auth_type PASS auth_pass 1 }` gives
//!   `auth_type` the arguments `PASS auth_pass 1`). Such statements are
//!   marked [`Node::inline`] so later stages can say what went wrong.
//!
//! keepalived splits lines at every unquoted brace, so blocks nest on one
//! line as written: `real_server ... { TCP_CHECK { connect_timeout 3 } }`.

use crate::diag::{Diags, Pos};
use crate::lexer::Token;

/// Deepest nesting of blocks accepted (keepalived's deepest real one is 4).
pub(crate) const MAX_NESTING: usize = 32;

#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub kw: Token,
    pub args: Vec<Token>,
    /// The `{ }` body, if any.
    pub block: Option<Vec<Node>>,
    /// Where the body's `{` was.
    pub open: Option<Pos>,
    /// This statement followed a `{` on the same line.
    pub inline: bool,
}

impl Node {
    pub fn pos(&self) -> &Pos {
        &self.kw.pos
    }
}

struct Frame {
    nodes: Vec<Node>,
}

/// Build the tree of the whole (expanded) configuration.
pub(crate) fn build(lines: Vec<Vec<Token>>, diags: &mut Diags) -> Vec<Node> {
    let mut stack: Vec<Frame> = vec![Frame { nodes: Vec::new() }];
    // Index path is implicit: the open node is always the last node of the
    // frame below; we move nodes into place when their frame closes.
    let mut last_was_statement_without_block = false;
    for line in lines {
        let mut cur: Vec<Token> = Vec::new();
        let mut inline = false;
        let mut first_token = true;
        for tok in line {
            if tok.is_open() {
                let header_done = !cur.is_empty();
                if header_done {
                    push_stmt(&mut stack, &mut cur, inline);
                } else if !(first_token && last_was_statement_without_block) {
                    diags.error(&tok.pos, "unexpected '{' with no keyword before it");
                    first_token = false;
                    continue;
                }
                if stack.len() > MAX_NESTING {
                    diags.error(&tok.pos, format!("blocks nested deeper than {MAX_NESTING}"));
                    first_token = false;
                    continue;
                }
                // Open a block for the last statement of the current frame.
                if let Some(frame) = stack.last_mut() {
                    if let Some(n) = frame.nodes.last_mut() {
                        n.open = Some(tok.pos.clone());
                    }
                }
                stack.push(Frame { nodes: Vec::new() });
                inline = true;
                last_was_statement_without_block = false;
            } else if tok.is_close() {
                push_stmt(&mut stack, &mut cur, inline);
                if stack.len() <= 1 {
                    diags.warn(&tok.pos, "extra '}' with no block to close (ignored)");
                } else {
                    close(&mut stack);
                }
                last_was_statement_without_block = false;
            } else {
                cur.push(tok);
            }
            first_token = false;
        }
        if !cur.is_empty() {
            push_stmt(&mut stack, &mut cur, inline);
            last_was_statement_without_block = true;
        }
    }
    while stack.len() > 1 {
        let open = stack
            .get(stack.len() - 2)
            .and_then(|f| f.nodes.last())
            .map(|n| {
                (
                    n.kw.text.clone(),
                    n.open.clone().unwrap_or_else(|| n.kw.pos.clone()),
                )
            });
        if let Some((kw, pos)) = open {
            diags.warn(
                &pos,
                format!("block '{kw}' opened here is never closed (missing '}}')"),
            );
        }
        close(&mut stack);
    }
    stack.pop().map(|f| f.nodes).unwrap_or_default()
}

fn push_stmt(stack: &mut [Frame], cur: &mut Vec<Token>, inline: bool) {
    if cur.is_empty() {
        return;
    }
    let mut toks = std::mem::take(cur).into_iter();
    let Some(kw) = toks.next() else { return };
    if let Some(frame) = stack.last_mut() {
        frame.nodes.push(Node {
            kw,
            args: toks.collect(),
            block: None,
            open: None,
            inline,
        });
    }
}

fn close(stack: &mut Vec<Frame>) {
    if let Some(done) = stack.pop() {
        if let Some(parent) = stack.last_mut() {
            if let Some(n) = parent.nodes.last_mut() {
                n.block = Some(done.nodes);
            }
        }
    }
}
