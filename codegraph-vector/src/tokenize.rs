//! Code-aware tokenizing: identifiers split at case, underscore and digit boundaries,
//! with the whole identifier kept too.
//!
//! `parseHTTPResponse2` becomes `parsehttpresponse2` (the original, lowercased) and
//! `parse`, `http`, `response`, `2`. A query for "http response" then finds the
//! function, and a query for the exact identifier still ranks it first, because it
//! matches the whole token as well as every part.

/// One token: its lowercased text, its byte range in the input, and its position.
/// Parts of an identifier share the identifier's position with the whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeToken {
    /// The word or part, lowercased (not stemmed).
    pub text: String,
    /// Byte offset in the input where the word or part starts.
    pub start: usize,
    /// Byte offset just past its end.
    pub end: usize,
    /// The ordinal of its word among the input's words, from 0.
    pub position: usize,
}

/// Words longer than this are dropped (minified code, base64, hashes): they never match
/// a query and bloat the term dictionary.
pub const MAX_TOKEN_BYTES: usize = 64;

/// Splits `text` into code tokens.
pub fn code_tokens(text: &str) -> Vec<CodeToken> {
    let mut out = Vec::new();
    let mut position = 0;
    let mut word_start = None;
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        let in_word = c.is_alphanumeric() || c == '_';
        match (in_word, word_start) {
            (true, None) => word_start = Some(i),
            (false, Some(start)) => {
                word_start = None;
                let word = &text[start..i];
                if word.len() > MAX_TOKEN_BYTES || word.bytes().all(|b| b == b'_') {
                    continue;
                }
                push_word(&mut out, word, start, position);
                position += 1;
            }
            _ => {}
        }
    }
    out
}

fn push_word(out: &mut Vec<CodeToken>, word: &str, start: usize, position: usize) {
    let parts = split_identifier(word);
    let whole = word.to_lowercase();
    let single = parts.len() == 1 && parts[0].1 - parts[0].0 == word.len();
    out.push(CodeToken {
        text: whole,
        start,
        end: start + word.len(),
        position,
    });
    if single {
        return;
    }
    for (a, b) in parts {
        out.push(CodeToken {
            text: word[a..b].to_lowercase(),
            start: start + a,
            end: start + b,
            position,
        });
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Lower,
    Upper,
    Digit,
    Other,
}

fn class(c: char) -> Class {
    if c.is_numeric() {
        Class::Digit
    } else if c.is_uppercase() {
        Class::Upper
    } else if c.is_lowercase() {
        Class::Lower
    } else {
        Class::Other
    }
}

/// Byte ranges of the parts of one identifier: split at `_`, at lower-to-upper
/// (`parseHttp`), before the last capital of a capital run followed by a lowercase
/// letter (`HTTPResponse` is `HTTP`, `Response`), and between letters and digits.
pub fn split_identifier(word: &str) -> Vec<(usize, usize)> {
    let chars: Vec<(usize, char)> = word.char_indices().collect();
    let mut parts = Vec::new();
    let mut start: Option<usize> = None;
    for (k, &(i, c)) in chars.iter().enumerate() {
        if c == '_' {
            if let Some(s) = start.take() {
                parts.push((s, i));
            }
            continue;
        }
        let Some(s) = start else {
            start = Some(i);
            continue;
        };
        let prev = class(chars[k - 1].1);
        let here = class(c);
        let next = chars.get(k + 1).map(|&(_, n)| class(n));
        let boundary = match (prev, here) {
            (Class::Lower, Class::Upper) => true,
            (Class::Upper, Class::Upper) => next == Some(Class::Lower),
            (Class::Digit, Class::Lower | Class::Upper) => true,
            (Class::Lower | Class::Upper, Class::Digit) => true,
            _ => false,
        };
        if boundary {
            parts.push((s, i));
            start = Some(i);
        }
    }
    if let Some(s) = start {
        parts.push((s, word.len()));
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<String> {
        code_tokens(s).into_iter().map(|t| t.text).collect()
    }

    fn parts(s: &str) -> Vec<&str> {
        split_identifier(s)
            .into_iter()
            .map(|(a, b)| &s[a..b])
            .collect()
    }

    #[test]
    fn identifiers_split_at_every_kind_of_boundary() {
        assert_eq!(
            parts("parseHTTPResponse2"),
            ["parse", "HTTP", "Response", "2"]
        );
        assert_eq!(parts("snake_case_name"), ["snake", "case", "name"]);
        assert_eq!(parts("__init__"), ["init"]);
        assert_eq!(parts("XMLHttpRequest"), ["XML", "Http", "Request"]);
        assert_eq!(parts("utf8Decode"), ["utf", "8", "Decode"]);
        assert_eq!(parts("ABC"), ["ABC"]);
        assert_eq!(parts("x"), ["x"]);
        assert_eq!(parts("getÜberName"), ["get", "Über", "Name"]);
    }

    #[test]
    fn the_whole_identifier_is_kept_beside_its_parts() {
        assert_eq!(
            texts("fn parseHttp(x_y)"),
            ["fn", "parsehttp", "parse", "http", "x_y", "x", "y"]
        );
        let tokens = code_tokens("a.fooBar");
        assert!(tokens.iter().skip(1).all(|t| t.position == 1), "{tokens:?}");
        assert_eq!(&"a.fooBar"[tokens[2].start..tokens[2].end], "foo");
    }

    #[test]
    fn noise_is_dropped() {
        assert!(texts("___ ... ()").is_empty());
        assert!(texts(&"a".repeat(MAX_TOKEN_BYTES + 1)).is_empty());
    }

    proptest::proptest! {
        #[test]
        fn tokens_lie_within_the_input(s in "\\PC{0,60}") {
            for t in code_tokens(&s) {
                proptest::prop_assert!(t.start < t.end && t.end <= s.len());
                proptest::prop_assert!(s.is_char_boundary(t.start) && s.is_char_boundary(t.end));
                proptest::prop_assert_eq!(t.text.clone(), s[t.start..t.end].to_lowercase());
            }
        }
    }
}
