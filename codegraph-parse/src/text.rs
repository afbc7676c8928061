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

/// A receiver expression with what its calls and indexes are given left out: `a.f(x,
/// func() { .. }).g` is `a.f().g`, `xs[i + 1]` is `xs[]`. The resolver reads a chain's
/// names; a closure's body in an argument would otherwise run the qualifier past its
/// length limit. Quoted strings are skipped whole; unbalanced text keeps its unclosed
/// bracket, which the resolver refuses.
pub fn elide_arguments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if depth == 0 {
            if matches!(c, '(' | '[') {
                depth = 1;
            }
            out.push(c);
            continue;
        }
        if let Some(q) = quote {
            if c == '\\' {
                chars.next();
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' | '`' => quote = Some(c),
            // Comments among the arguments (`f(a, // don't\n b)`).
            '/' if chars.peek() == Some(&'/') => {
                for next in chars.by_ref() {
                    if next == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut last = ' ';
                for next in chars.by_ref() {
                    if last == '*' && next == '/' {
                        break;
                    }
                    last = next;
                }
            }
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => {
                depth -= 1;
                if depth == 0 {
                    out.push(c);
                }
            }
            _ => {}
        }
    }
    // Unbalanced (a lifetime or an apostrophe taken for a quote, or text cut short):
    // the chain as written, for the resolver to read or refuse as before.
    if depth == 0 { out } else { text.to_string() }
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
    let mut s = s.replace(&format!("{sep} "), sep);
    // A Rust turbofish (`Harness::<T, S>::from_raw`, `Vec::<u8>`) leaves an empty
    // segment once its arguments are gone.
    let doubled = format!("{sep}{sep}");
    if sep.len() > 1 && s.contains(&doubled) {
        while s.contains(&doubled) {
            s = s.replace(&doubled, sep);
        }
    }
    if sep.len() > 1
        && let Some(rest) = s.strip_suffix(sep)
    {
        s = rest.to_string();
    }
    s
}

/// The one named type a declared type stands for, or `None` when it is not one: the
/// annotation of a parameter, variable or field, or a return type, as written.
///
/// Nullability is looked through, because a value that may be absent still has its
/// type's members: `Optional[Foo]`, `Foo | None`, `Union[Foo, None]`, `"Foo"` (a Python
/// forward reference), `Foo | undefined`, `?Foo`. Pointers, references and type
/// arguments go as in [`normalize_type_name`]. Anything else (`Foo | Bar`, a function
/// type, a literal type) gives `None`: a receiver typed by it has no one type.
pub fn declared_type(text: &str, sep: &str) -> Option<String> {
    declared_type_at(text, sep, 0)
}

fn declared_type_at(text: &str, sep: &str, depth: usize) -> Option<String> {
    if depth > 4 || text.len() > 300 {
        return None;
    }
    let mut t = text.trim();
    t = t.strip_prefix(':').unwrap_or(t).trim();
    t = t.strip_prefix("->").unwrap_or(t).trim();
    for q in ['"', '\'', '`'] {
        if let Some(inner) = t.strip_prefix(q).and_then(|x| x.strip_suffix(q)) {
            return declared_type_at(inner, sep, depth + 1);
        }
    }
    let t = t.strip_prefix('?').unwrap_or(t);
    let parts: Vec<&str> = split_top_level(t, '|')
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty() && !is_nothing(p))
        .collect();
    if parts.len() != 1 {
        return None;
    }
    let t = parts[0];
    // `Optional[X]`, `typing.Optional[X]`, `t.Optional[X]`, `Union[X, None]`.
    if let Some(open) = t.find('[')
        && t.ends_with(']')
    {
        let head = t[..open].trim();
        let head = head.rsplit('.').next().unwrap_or(head);
        let args = &t[open + 1..t.len() - 1];
        if head == "Optional" {
            return declared_type_at(args, sep, depth + 1);
        }
        if head == "Union" {
            let parts: Vec<&str> = split_top_level(args, ',')
                .into_iter()
                .map(str::trim)
                .filter(|p| !p.is_empty() && !is_nothing(p))
                .collect();
            return match parts.as_slice() {
                [one] => declared_type_at(one, sep, depth + 1),
                _ => None,
            };
        }
    }
    let name = normalize_type_name(t, sep);
    let valid = !name.is_empty()
        && name.split(sep).all(|seg| {
            !seg.is_empty()
                && seg
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
        })
        && !name.starts_with(|c: char| c.is_ascii_digit());
    valid.then_some(name)
}

fn is_nothing(t: &str) -> bool {
    matches!(t, "None" | "null" | "undefined" | "void" | "nil")
}

/// `text` split at `sep` where no bracket is open.
pub(crate) fn split_top_level(text: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '[' | '(' | '<' | '{' => depth += 1,
            ']' | ')' | '>' | '}' => depth -= 1,
            c if c == sep && depth == 0 => {
                parts.push(&text[start..i]);
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// Lines in a file: newline count, plus one for a last line without a newline.
pub fn count_lines(src: &[u8]) -> u32 {
    let newlines = memchr::memchr_iter(b'\n', src).count();
    let last = usize::from(!src.is_empty() && !src.ends_with(b"\n"));
    (newlines + last) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_are_elided() {
        assert_eq!(
            elide_arguments("check.later(func() { x.f(1) }).describef"),
            "check.later().describef"
        );
        assert_eq!(
            elide_arguments("a.b(x, \")(\").c[i + (1)].d"),
            "a.b().c[].d"
        );
        assert_eq!(elide_arguments("v.iter().map(|x| x.f())"), "v.iter().map()");
        assert_eq!(elide_arguments("self.items"), "self.items");
        assert_eq!(elide_arguments("f(a"), "f(a");
        assert_eq!(
            elide_arguments("f(a, // don't\n b).g(/* ) */ x)"),
            "f().g()"
        );
        assert_eq!(
            elide_arguments("f(|s: &'static str| s).g"),
            "f(|s: &'static str| s).g"
        );
    }

    #[test]
    fn declared_types() {
        let d = |t: &str, sep: &str| declared_type(t, sep);
        assert_eq!(d("Foo", ".").as_deref(), Some("Foo"));
        assert_eq!(d("\"mod.Foo\"", ".").as_deref(), Some("mod.Foo"));
        assert_eq!(d("t.Optional[Foo]", ".").as_deref(), Some("Foo"));
        assert_eq!(d("Optional['Foo']", ".").as_deref(), Some("Foo"));
        assert_eq!(d("Foo | None", ".").as_deref(), Some("Foo"));
        assert_eq!(d("Union[None, a.Foo]", ".").as_deref(), Some("a.Foo"));
        assert_eq!(d(": Foo<T> | undefined", ".").as_deref(), Some("Foo"));
        assert_eq!(d("&mut Foo", "::").as_deref(), Some("Foo"));
        assert_eq!(d("*pkg.Foo", ".").as_deref(), Some("pkg.Foo"));
        assert_eq!(d("Foo | Bar", "."), None);
        assert_eq!(d("Union[Foo, Bar]", "."), None);
        assert_eq!(d("(x: number) => void", "."), None);
        assert_eq!(d("'a' | 'b'", "."), None);
        assert_eq!(d("None", "."), None);
        assert_eq!(d("123", "."), None);
    }

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
            normalize_type_name("task::Harness::<T, S>::from_raw", "::"),
            "task::Harness::from_raw"
        );
        assert_eq!(normalize_type_name("Vec::<u8>", "::"), "Vec");
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
