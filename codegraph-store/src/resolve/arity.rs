//! How many arguments a callable takes, read from its signature, so that a call can
//! choose among overloads by the number of arguments it passes (Java's and C++'s
//! `Eq(x)` beside `Eq()`).

/// No upper bound: a variadic parameter (`String... rest`, `Args&&... args`, `...`).
pub(crate) const VARIADIC: u16 = u16::MAX;

/// The fewest and most arguments a call of `name` declared by `signature` passes, when
/// the signature shows its parameter list. Parameters with defaults (`int n = 0`) may
/// be left out; a variadic one takes any number.
pub(crate) fn parameter_range(signature: &str, name: &str) -> Option<(u16, u16)> {
    let list = parameter_list(signature, name)?;
    let params: Vec<&str> = split_top_level(list)
        .into_iter()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if params.is_empty() || params == ["void"] {
        return Some((0, 0));
    }
    let mut fewest = 0u16;
    let mut most = 0u16;
    for p in &params {
        if p.contains("...") {
            return Some((fewest, VARIADIC));
        }
        most = most.saturating_add(1);
        if !has_default(p) {
            fewest = most;
        }
    }
    Some((fewest, most))
}

/// How many results a Go function declared by `signature` returns: none, one, or as
/// many as a parenthesised list names (`(n int, err error)`, `(a, b int)`).
pub(crate) fn result_count(signature: &str, name: &str) -> Option<u16> {
    let list = parameter_list(signature, name)?;
    // `list` is a slice of `signature`: what follows its closing parenthesis.
    let after = list.as_ptr() as usize - signature.as_ptr() as usize + list.len() + 1;
    let rest = signature
        .get(after..)?
        .trim()
        .trim_end_matches('{')
        .trim_end();
    // A signature cut short (`…`) does not say.
    if rest.contains('…') {
        return None;
    }
    if rest.is_empty() {
        return Some(0);
    }
    if rest.starts_with('(') {
        let close = matching(rest.as_bytes(), 0, b'(', b')')?;
        let results = split_top_level(&rest[1..close])
            .into_iter()
            .filter(|r| !r.trim().is_empty())
            .count();
        return u16::try_from(results).ok();
    }
    Some(1)
}

/// The text between the parentheses that follow `name` in `signature`: the first
/// occurrence of the name as a whole word followed, after optional template arguments,
/// by `(`.
fn parameter_list<'s>(signature: &'s str, name: &str) -> Option<&'s str> {
    if name.is_empty() || name.starts_with("operator") {
        return None;
    }
    let bytes = signature.as_bytes();
    let mut from = 0;
    while let Some(found) = signature[from..].find(name) {
        let start = from + found;
        let end = start + name.len();
        from = end;
        let word_before = start > 0 && is_word(bytes[start - 1]);
        if word_before || bytes.get(end).is_some_and(|&b| is_word(b)) {
            continue;
        }
        let mut i = end;
        while bytes.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
            i += 1;
        }
        // `f<T>(..)`: explicit template arguments.
        if bytes.get(i) == Some(&b'<') {
            i = matching(bytes, i, b'<', b'>')? + 1;
            while bytes.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
                i += 1;
            }
        }
        if bytes.get(i) != Some(&b'(') {
            continue;
        }
        let close = matching(bytes, i, b'(', b')')?;
        return Some(&signature[i + 1..close]);
    }
    None
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$'
}

/// The index of the bracket closing the one at `open`.
fn matching(bytes: &[u8], open: usize, left: u8, right: u8) -> Option<usize> {
    let mut depth = 0usize;
    for (i, &b) in bytes.iter().enumerate().skip(open) {
        if b == left {
            depth += 1;
        } else if b == right {
            depth = depth.checked_sub(1)?;
            if depth == 0 {
                return Some(i);
            }
        }
    }
    None
}

/// `text` split at commas outside brackets.
fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        match b {
            b'(' | b'<' | b'[' | b'{' => depth += 1,
            b')' | b'>' | b']' | b'}' => depth -= 1,
            b',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// Whether a parameter declares a default (`int n = 0`), outside brackets.
fn has_default(param: &str) -> bool {
    let mut depth = 0i32;
    let bytes = param.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'(' | b'<' | b'[' | b'{' => depth += 1,
            b')' | b'>' | b']' | b'}' => depth -= 1,
            b'=' if depth == 0 => {
                let next = bytes.get(i + 1).copied();
                let prev = i.checked_sub(1).map(|p| bytes[p]);
                if next != Some(b'=') && !matches!(prev, Some(b'=' | b'!' | b'<' | b'>')) {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Signatures come from the files being indexed: any text gives an answer or
        /// none, never a panic, and an answer's bounds are ordered.
        #[test]
        fn any_signature_gives_an_ordered_range_or_none(
            sig in r"[a-z(),<>=. é\[\]]{0,40}",
            name in "[a-zé]{1,3}",
        ) {
            if let Some((fewest, most)) = parameter_range(&sig, &name) {
                prop_assert!(fewest <= most);
            }
            let _ = result_count(&sig, &name);
        }
    }

    #[test]
    fn go_results() {
        let r = result_count;
        assert_eq!(r("func (s *S) Close()", "Close"), Some(0));
        assert_eq!(r("func (s *S) Flush() error", "Flush"), Some(1));
        assert_eq!(
            r("func (s *S) Hijack() (net.Conn, *bufio.Reader)", "Hijack"),
            Some(2)
        );
        assert_eq!(r("func f(a int) (n, m int, err error)", "f"), Some(3));
        assert_eq!(r("Read(p []byte) (n int, err error)", "Read"), Some(2));
        assert_eq!(
            r("func g(f func() error) func() (int, error)", "g"),
            Some(1)
        );
        assert_eq!(r("func F[T any](x T) T", "F"), None);
        assert_eq!(
            r("func (s *S) Open(name string) (f *File, err e…", "Open"),
            None
        );
    }

    #[test]
    fn ranges() {
        let r = parameter_range;
        assert_eq!(r("inline internal::Eq2Matcher Eq()", "Eq"), Some((0, 0)));
        assert_eq!(
            r(
                "template <typename T> inline internal::EqMatcher<T> Eq(T x)",
                "Eq"
            ),
            Some((1, 1))
        );
        assert_eq!(r("void f(void)", "f"), Some((0, 0)));
        assert_eq!(
            r(
                "int parse(const std::string& s, int base = 10, bool strict = true)",
                "parse"
            ),
            Some((1, 3))
        );
        assert_eq!(
            r("public static <T> List<T> asList(T... a)", "asList"),
            Some((0, VARIADIC))
        );
        assert_eq!(
            r("void log(const char* fmt, ...)", "log"),
            Some((1, VARIADIC))
        );
        assert_eq!(
            r(
                "Map<String, List<Integer>> group(Map<String, Integer> m, int n)",
                "group"
            ),
            Some((2, 2))
        );
        assert_eq!(
            r("void emplace(std::function<void(int, int)> f)", "emplace"),
            Some((1, 1))
        );
        // The name inside another word or without a parameter list says nothing.
        assert_eq!(r("int prefix_f(int a)", "f"), None);
        assert_eq!(r("bool operator==(const A& a)", "operator=="), None);
        // `decltype(x) f(a, b)`: the list after the name.
        assert_eq!(r("decltype(auto) f(int a, int b)", "f"), Some((2, 2)));
    }
}
