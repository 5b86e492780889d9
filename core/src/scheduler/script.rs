//! The script language of [`super::JobKind::Script`]: one command line per line,
//! `CMD ARGS... [| CMD ARGS...]... [> PATH | >> PATH]` (see [`super`]).

/// One parsed script line.
#[derive(Debug, PartialEq)]
pub(super) struct Line {
    pub(super) stages: Vec<Vec<String>>,
    pub(super) redirect: Option<(String, bool)>,
}

/// Splits a command line into words: whitespace separates, "double quotes" group. With
/// `operators`, unquoted `|`, `>` and `>>` are words of their own (scripts); without, they
/// are ordinary characters (argument lines).
pub fn split_words(line: &str, operators: bool) -> Result<Vec<String>, String> {
    let mut words: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    words.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            '|' | '>' if operators && !quoted => {
                if any {
                    words.push(std::mem::take(&mut cur));
                    any = false;
                }
                if c == '>' && words.last().is_some_and(|w| w == ">") {
                    words.pop();
                    words.push(">>".into());
                } else {
                    words.push(c.to_string());
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if quoted {
        return Err("unterminated quote".into());
    }
    if any {
        words.push(cur);
    }
    Ok(words)
}

/// Splits a script line into pipeline stages and a redirection.
pub(super) fn parse_line(line: &str) -> Result<Line, String> {
    let mut words = split_words(line, true)?;
    let mut redirect = None;
    if let Some(pos) = words.iter().position(|w| w == ">" || w == ">>") {
        let append = words[pos] == ">>";
        match &words[pos + 1..] {
            [path] => redirect = Some((path.clone(), append)),
            _ => return Err("a redirection takes exactly one path, at the end".into()),
        }
        words.truncate(pos);
    }
    let mut stages = vec![Vec::new()];
    for w in words {
        if w == "|" {
            stages.push(Vec::new());
        } else {
            stages.last_mut().expect("one stage").push(w);
        }
    }
    if stages.iter().any(Vec::is_empty) {
        return Err("empty command in a pipeline".into());
    }
    Ok(Line { stages, redirect })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pipelines_and_redirections() {
        let l = parse_line(r#"/bin/a.wasm x "y z" | /bin/b.wasm >> /out.txt"#).unwrap();
        assert_eq!(
            l.stages,
            vec![
                vec!["/bin/a.wasm".to_string(), "x".into(), "y z".into()],
                vec!["/bin/b.wasm".to_string()]
            ]
        );
        assert_eq!(l.redirect, Some(("/out.txt".into(), true)));
        assert!(parse_line("a |").is_err());
        assert!(parse_line("a > b c").is_err());
        assert!(parse_line("a \"open").is_err());
        assert_eq!(
            parse_line("a>b").unwrap().redirect,
            Some(("b".into(), false))
        );
    }
}
