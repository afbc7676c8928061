//! Small text helpers shared by the engine and the language rules.

/// Bytes as a string, replacing invalid UTF-8 rather than failing: source files in the
/// wild are not always valid UTF-8, and a name with a replacement character is better
/// than no name.
pub fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs of whitespace become one space; leading and trailing whitespace goes.
pub fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// At most `max` characters, with an ellipsis when something was cut.
pub fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((cut, _)) => {
            let mut out = text[..cut].trim_end().to_string();
            out.push('…');
            out
        }
    }
}

/// The bare name of a type as written in a base list, receiver or impl header:
/// generic arguments, pointer and reference markers, and qualifiers such as `dyn` or
/// `typename` removed; path separators kept.
///
/// `&'a mut Vec<T>` → `Vec`, `*Server` → `Server`, `Base[T]` → `Base`,
/// `typename std::vector<T>` → `std::vector`, `Foo.prototype` → `Foo`.
pub fn normalize_type_name(text: &str, sep: &str) -> String {
    let mut depth = 0usize;
    let mut stripped = String::with_capacity(text.len());
    let mut previous = ' ';
    for c in text.chars() {
        match c {
            '<' | '[' => depth += 1,
            // `->` in `dyn Fn(u8) -> u8` is an arrow, not a closing bracket.
            '>' if previous == '-' && depth == 0 => stripped.push(c),
            '>' if previous == '-' => {}
            '>' | ']' => depth = depth.saturating_sub(1),
            _ if depth == 0 => stripped.push(c),
            _ => {}
        }
        previous = c;
    }
    let mut s = collapse_whitespace(&stripped);
    loop {
        let before = s.len();
        s = s
            .trim_start_matches(['*', '&', ' ', '(', ')'])
            .trim_end_matches(['*', '&', ' ', '?', '!'])
            .to_string();
        if let Some(rest) = s.strip_prefix('\'') {
            // A Rust lifetime: `'a Foo`.
            s = rest
                .split_once(' ')
                .map(|(_, t)| t.to_string())
                .unwrap_or_default();
        }
        for prefix in [
            "mut ",
            "dyn ",
            "impl ",
            "typename ",
            "struct ",
            "class ",
            "const ",
            "volatile ",
            "enum ",
            "union ",
            "virtual ",
            "public ",
            "private ",
            "protected ",
        ] {
            if let Some(rest) = s.strip_prefix(prefix) {
                s = rest.to_string();
            }
        }
        if s.len() == before {
            break;
        }
    }
    if let Some(rest) = s.strip_suffix(".prototype") {
        s = rest.to_string();
    }
    // `a :: b` and `a . b` as some people write them.
    let spaced = format!(" {} ", sep.trim());
    if s.contains(&spaced) {
        s = s.replace(&spaced, sep);
    }
    s.replace(&format!("{sep} "), sep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names() {
        assert_eq!(normalize_type_name("&'a mut Vec<T>", "::"), "Vec");
        assert_eq!(normalize_type_name("*Server", "."), "Server");
        assert_eq!(normalize_type_name("Base[T]", "."), "Base");
        assert_eq!(
            normalize_type_name("typename std::vector<T>", "::"),
            "std::vector"
        );
        assert_eq!(normalize_type_name("Foo.prototype", "."), "Foo");
        assert_eq!(
            normalize_type_name("dyn Fn(u8) -> u8", "::"),
            "Fn(u8) -> u8"
        );
        assert_eq!(normalize_type_name("A<B<C>>::D", "::"), "A::D");
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate_chars("héllo", 2), "hé…");
        assert_eq!(truncate_chars("hi", 5), "hi");
    }

    #[test]
    fn whitespace() {
        assert_eq!(collapse_whitespace("  fn  f(\n  a: u8)\t"), "fn f( a: u8)");
    }
}
