//! Directive argument splitting, as httpd's `ap_getword_conf` does it.

/// Splits a directive's raw argument text like httpd's `ap_getword_conf`: whitespace separated, with single or
/// double quotes grouping words and backslash escaping the quote character inside them.
pub fn split_args(raw: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = raw.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else { break };
        let mut word = String::new();
        if first == '"' || first == '\'' {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                if c == '\\' && chars.peek() == Some(&first) {
                    word.push(first);
                    chars.next();
                } else if c == first {
                    closed = true;
                    break;
                } else {
                    word.push(c);
                }
            }
            if !closed {
                return Err(format!("unterminated quote in {raw:?}"));
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                word.push(c);
                chars.next();
            }
        }
        out.push(word);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn split_handles_quotes() {
        assert_eq!(
            split_args(r#"/a "/b c" 'd e' f=g"#).ok(),
            Some(s(&["/a", "/b c", "d e", "f=g"]))
        );
        assert_eq!(split_args(r#""a\"b""#).ok(), Some(s(&["a\"b"])));
        assert!(split_args(r#""open"#).is_err());
        assert_eq!(split_args("   ").ok(), Some(vec![]));
    }
}
