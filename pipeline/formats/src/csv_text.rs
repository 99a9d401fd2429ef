//! Minimal CSV records for the formats Mote reads and writes, with line numbers for error messages.
//!
//! Fields may be quoted with `"` (a doubled `""` inside is a quote); a record may not span lines.

/// Lines of `text` with their 1-based numbers, without line endings (`\n` or `\r\n`).
pub fn numbered_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split('\n').enumerate().map(|(index, line)| (index + 1, line.strip_suffix('\r').unwrap_or(line)))
}

/// Splits one record into fields, or says what is wrong with the quoting.
pub fn split_record(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut at_field_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => {
                    quoted = false;
                    if !matches!(chars.peek(), None | Some(',')) {
                        return Err("expected `,` after a closing quote".into());
                    }
                }
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' if at_field_start => {
                quoted = true;
                at_field_start = false;
            }
            ',' => {
                fields.push(std::mem::take(&mut field));
                at_field_start = true;
            }
            c => {
                field.push(c);
                at_field_start = false;
            }
        }
    }
    if quoted {
        return Err("expected a closing quote `\"` before the end of the line".into());
    }
    fields.push(field);
    Ok(fields)
}

/// One record, quoting fields that need it, without a line ending.
pub fn join_record<S: AsRef<str>>(fields: &[S]) -> String {
    fields
        .iter()
        .map(|field| {
            let field = field.as_ref();
            let needs_quotes = field.contains([',', '"', '\n', '\r'])
                || field.starts_with(' ')
                || field.ends_with(' ')
                || field.starts_with('#');
            if needs_quotes { format!("\"{}\"", field.replace('"', "\"\"")) } else { field.to_string() }
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_split_and_join() {
        let cases: &[(&str, &[&str])] = &[
            ("a,b,c", &["a", "b", "c"]),
            ("", &[""]),
            ("1,,2", &["1", "", "2"]),
            ("\"x,y\",\"he said \"\"hi\"\"\"", &["x,y", "he said \"hi\""]),
            ("\"#not a comment\",b", &["#not a comment", "b"]),
        ];
        for (line, fields) in cases {
            assert_eq!(split_record(line).unwrap(), *fields, "{line}");
            assert_eq!(split_record(&join_record(fields)).unwrap(), *fields);
        }
        assert!(split_record("\"open").is_err());
        assert!(split_record("\"a\"b,c").is_err());
    }

    #[test]
    fn lines_are_numbered_from_one_without_cr() {
        let lines: Vec<_> = numbered_lines("a\r\nb\nc").collect();
        assert_eq!(lines, vec![(1, "a"), (2, "b"), (3, "c")]);
    }
}
