//! The GraphQL the demo's `/ws/graphql` understands: `query { hello }` and
//! `subscription { countdown(from: N) }` (N a literal or a `$variable`), with an optional
//! operation name and variable definitions; anything else is an error message in GraphQL's words.
//! A small recursive-descent reader: the demo's schema has two fields, not a GraphQL engine's worth.

use serde_json::Value;

/// The largest `from` of a countdown.
pub const MAX_COUNTDOWN: u64 = 1000;

/// What a subscribe asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Operation {
    /// `query { hello }`.
    Hello,
    /// `subscription { countdown(from: N) }`.
    Countdown(u64),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Name(String),
    Variable(String),
    Int(String),
    Punct(char),
}

/// Reads `query` with `variables` (a JSON object or null) into the operation it asks for, or
/// the message of the GraphQL error it is.
pub fn parse(query: &str, variables: Option<&Value>) -> Result<Operation, String> {
    let mut tokens = tokenize(query)?.into_iter().peekable();
    let kind = match tokens.peek() {
        Some(Token::Punct('{')) => "query".to_owned(),
        Some(Token::Name(name)) => {
            let name = name.clone();
            tokens.next();
            name
        }
        _ => return Err("Syntax Error: expected an operation.".to_owned()),
    };
    if !matches!(kind.as_str(), "query" | "subscription") {
        return Err(format!(
            "Syntax Error: unsupported operation \"{kind}\": the demo serves `query {{ hello }}` \
             and `subscription {{ countdown(from: N) }}`."
        ));
    }
    if let Some(Token::Name(_)) = tokens.peek() {
        tokens.next(); // the operation's name
    }
    if let Some(Token::Punct('(')) = tokens.peek() {
        // Variable definitions: their types do not matter here, only the values given.
        let mut depth = 0usize;
        for token in tokens.by_ref() {
            match token {
                Token::Punct('(') => depth += 1,
                Token::Punct(')') => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                break;
            }
        }
    }
    expect(&mut tokens, '{')?;
    let field = match tokens.next() {
        Some(Token::Name(name)) => name,
        _ => return Err("Syntax Error: expected a field name.".to_owned()),
    };
    let mut arguments = Vec::new();
    if let Some(Token::Punct('(')) = tokens.peek() {
        tokens.next();
        loop {
            match tokens.next() {
                Some(Token::Punct(')')) => break,
                Some(Token::Name(name)) => {
                    expect(&mut tokens, ':')?;
                    let value = match tokens.next() {
                        Some(Token::Int(n)) => Value::from(n.parse::<i64>().unwrap_or(i64::MAX)),
                        Some(Token::Variable(var)) => variables
                            .and_then(|v| v.get(&var))
                            .cloned()
                            .ok_or_else(|| format!("Variable \"${var}\" is not defined."))?,
                        _ => {
                            return Err(format!(
                                "Syntax Error: expected an integer or a variable for \"{name}\"."
                            ));
                        }
                    };
                    arguments.push((name, value));
                }
                _ => return Err("Syntax Error: expected an argument name or \")\".".to_owned()),
            }
        }
    }
    expect(&mut tokens, '}')?;
    if let Some(token) = tokens.next() {
        return Err(format!(
            "Syntax Error: unexpected {token:?} after the selection: one field per operation."
        ));
    }
    match (kind.as_str(), field.as_str()) {
        ("query", "hello") if arguments.is_empty() => Ok(Operation::Hello),
        ("query", "hello") => Err("Field \"hello\" takes no arguments.".to_owned()),
        ("subscription", "countdown") => {
            let mut from = None;
            for (name, value) in arguments {
                if name != "from" {
                    return Err(format!(
                        "Unknown argument \"{name}\" on field \"Subscription.countdown\"."
                    ));
                }
                from = Some(value);
            }
            let Some(from) = from else {
                return Err(
                    "Field \"countdown\" argument \"from\" of type \"Int!\" is required, \
                            but it was not provided."
                        .to_owned(),
                );
            };
            match from.as_u64() {
                Some(n) if n <= MAX_COUNTDOWN => Ok(Operation::Countdown(n)),
                _ => Err(format!(
                    "Argument \"from\" of \"countdown\" must be an integer from 0 to \
                     {MAX_COUNTDOWN}, got {from}."
                )),
            }
        }
        ("query", _) => Err(format!("Cannot query field \"{field}\" on type \"Query\".")),
        _ => Err(format!(
            "Cannot query field \"{field}\" on type \"Subscription\"."
        )),
    }
}

fn expect(tokens: &mut impl Iterator<Item = Token>, punct: char) -> Result<(), String> {
    match tokens.next() {
        Some(Token::Punct(p)) if p == punct => Ok(()),
        Some(other) => Err(format!(
            "Syntax Error: expected \"{punct}\", found {other:?}."
        )),
        None => Err(format!(
            "Syntax Error: expected \"{punct}\", found the end."
        )),
    }
}

fn tokenize(query: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = query.char_indices().peekable();
    let name_at = |start: usize| -> &str {
        let end = query[start..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(query.len(), |n| start + n);
        &query[start..end]
    };
    while let Some((at, c)) = chars.next() {
        let token = match c {
            // Commas are insignificant in GraphQL, like white space.
            c if c.is_whitespace() || c == ',' || c == '\u{feff}' => continue,
            '#' => {
                while chars.next_if(|&(_, c)| c != '\n').is_some() {}
                continue;
            }
            '{' | '}' | '(' | ')' | ':' | '!' | '[' | ']' | '=' => Token::Punct(c),
            '$' => {
                let name = name_at(at + 1);
                if name.is_empty() {
                    return Err("Syntax Error: expected a variable name after \"$\".".to_owned());
                }
                Token::Variable(name.to_owned())
            }
            c if c.is_ascii_alphabetic() || c == '_' => Token::Name(name_at(at).to_owned()),
            c if c.is_ascii_digit() || c == '-' => {
                let end = query[at + 1..]
                    .find(|c: char| !c.is_ascii_digit())
                    .map_or(query.len(), |n| at + 1 + n);
                Token::Int(query[at..end].to_owned())
            }
            c => return Err(format!("Syntax Error: unexpected character \"{c}\".")),
        };
        // Skip the rest of a multi-character token.
        let len = match &token {
            Token::Name(s) | Token::Int(s) => s.len(),
            Token::Variable(s) => s.len() + 1,
            Token::Punct(_) => 1,
        };
        while chars.next_if(|&(next, _)| next < at + len).is_some() {}
        tokens.push(token);
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_two_operations_and_their_errors() {
        assert_eq!(parse("query { hello }", None), Ok(Operation::Hello));
        assert_eq!(parse("{ hello }", None), Ok(Operation::Hello));
        assert_eq!(
            parse("subscription { countdown(from: 3) }", None),
            Ok(Operation::Countdown(3))
        );
        let variables = json!({"n": 2});
        assert_eq!(
            parse(
                "subscription Count($n: Int!) {\n  countdown(from: $n) # down\n}",
                Some(&variables)
            ),
            Ok(Operation::Countdown(2))
        );
        assert_eq!(
            parse("query { bye }", None),
            Err("Cannot query field \"bye\" on type \"Query\".".to_owned())
        );
        assert_eq!(
            parse("subscription { countdown(from: $m) }", Some(&variables)),
            Err("Variable \"$m\" is not defined.".to_owned())
        );
        assert!(parse("subscription { countdown(from: -1) }", None).is_err());
        assert!(parse("mutation { x }", None).is_err());
        assert!(parse("query { hello", None).is_err());
        assert!(parse("", None).is_err());
    }
}
