//! Answers that fit a budget: blocks of text are added best first until the next one
//! would pass the caller's `max_tokens`; the answer then ends with how to ask for the
//! rest.

/// Tokens an answer may use when the caller does not say.
pub const DEFAULT_MAX_TOKENS: usize = 3000;
/// The most any answer may use, whatever the caller asks: a client that asks for a
/// million tokens still gets a bounded answer.
pub const MAX_TOKENS: usize = 20_000;
/// The least: enough for the header, one item and the footer.
pub const MIN_TOKENS: usize = 200;

/// Tokens in `text`, estimated from its length: one per 3 bytes. Code and paths
/// tokenise at 3 to 4 bytes per token with the usual BPE vocabularies (cl100k,
/// o200k), so the estimate errs on the side of a shorter answer; docs/PERFORMANCE.md
/// has it against tiktoken on real answers.
pub fn tokens(text: &str) -> usize {
    text.len().div_ceil(3)
}

/// The budget a caller asked for, clamped to what the server allows.
pub fn budget(asked: Option<u32>) -> usize {
    asked
        .map(|n| n as usize)
        .unwrap_or(DEFAULT_MAX_TOKENS)
        .clamp(MIN_TOKENS, MAX_TOKENS)
}

/// One answer being written.
pub struct Page {
    text: String,
    /// Tokens left for items; the footer's share is held back.
    left: usize,
    /// Items added.
    pub items: usize,
    /// An item did not fit.
    pub full: bool,
}

/// Held back for the footer (truncation note and freshness line).
const FOOTER: usize = 80;

impl Page {
    pub fn new(header: &str, max_tokens: usize) -> Page {
        let mut text = String::with_capacity(max_tokens.min(4096) * 3);
        text.push_str(header);
        if !header.is_empty() && !header.ends_with('\n') {
            text.push('\n');
        }
        Page {
            left: max_tokens.saturating_sub(FOOTER + tokens(&text)),
            text,
            items: 0,
            full: false,
        }
    }

    /// Adds `block` if it fits; false (and nothing more is added) once one does not.
    pub fn push(&mut self, block: &str) -> bool {
        if self.full {
            return false;
        }
        let cost = tokens(block) + 1;
        if cost > self.left {
            self.full = true;
            return false;
        }
        self.left -= cost;
        self.text.push_str(block);
        if !block.ends_with('\n') {
            self.text.push('\n');
        }
        self.items += 1;
        true
    }

    /// Tokens left for items.
    pub fn left(&self) -> usize {
        self.left
    }

    /// The answer, ending with `more` (how to get the rest) when something did not
    /// fit, and with `footer`.
    pub fn finish(mut self, more: Option<String>, footer: &str) -> String {
        if let Some(more) = more {
            self.text.push_str("truncated: ");
            self.text.push_str(&more);
            self.text.push('\n');
        }
        self.text.push_str(footer);
        self.text
    }
}

/// Where a paged list starts: the `cursor` a previous answer gave (an offset into the
/// same ranked list), or the beginning.
pub fn offset(cursor: Option<&str>) -> Result<usize, String> {
    match cursor {
        None | Some("") => Ok(0),
        Some(c) => c
            .parse::<usize>()
            .ok()
            .filter(|&n| n <= 1_000_000)
            .ok_or_else(|| format!("cursor {c:?} is not one this server gave (a number)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_never_passes_its_budget() {
        for max in [MIN_TOKENS, 500, 3000] {
            let mut page = Page::new("header line", max);
            let block = "x".repeat(100);
            while page.push(&block) {}
            let text = page.finish(Some("cursor=7".into()), "index: up to date");
            assert!(tokens(&text) <= max, "{} > {max}", tokens(&text));
        }
    }

    #[test]
    fn budgets_are_clamped_and_cursors_checked() {
        assert_eq!(budget(None), DEFAULT_MAX_TOKENS);
        assert_eq!(budget(Some(1)), MIN_TOKENS);
        assert_eq!(budget(Some(u32::MAX)), MAX_TOKENS);
        assert_eq!(offset(Some("12")), Ok(12));
        assert!(offset(Some("-1")).is_err());
        assert!(offset(Some("99999999999")).is_err());
    }
}
