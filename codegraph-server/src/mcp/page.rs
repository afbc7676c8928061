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
    items: usize,
    /// An item did not fit.
    full: bool,
}

/// Held back for the footer (truncation note and freshness line), which `finish`
/// cuts to fit it.
const FOOTER: usize = 120;
/// The longest header kept.
const HEADER_BYTES: usize = 600;

impl Page {
    pub fn new(header: &str, max_tokens: usize) -> Page {
        let mut text = String::with_capacity(max_tokens.min(4096) * 3);
        // A header is a few lines; one built from a client's words is cut.
        let mut end = header.len().min(HEADER_BYTES).min(max_tokens * 3 / 4);
        while !header.is_char_boundary(end) {
            end -= 1;
        }
        text.push_str(&header[..end]);
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
    /// A first block too large for the page goes in cut, marked, and fills it: every
    /// page moves a cursor on, however large its first item.
    pub fn push(&mut self, block: &str) -> bool {
        if self.full {
            return false;
        }
        let cost = tokens(block) + 1;
        if cost > self.left {
            self.full = true;
            if self.items > 0 {
                return false;
            }
            const MARK: &str = " [cut to fit max_tokens]";
            let room = (self.left.saturating_sub(1) * 3).saturating_sub(MARK.len() + 1);
            let mut end = room.min(block.len());
            while end > 0 && !block.is_char_boundary(end) {
                end -= 1;
            }
            if end == 0 {
                return false;
            }
            self.left = 0;
            self.text.push_str(&block[..end]);
            self.text.push_str(MARK);
            self.text.push('\n');
            self.items += 1;
            return true;
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
        let mut tail = String::new();
        if let Some(more) = more {
            tail.push_str("truncated: ");
            tail.push_str(&more);
            tail.push('\n');
        }
        tail.push_str(footer);
        // The footer's share, and whatever the items left unspent.
        let room = (FOOTER + self.left) * 3;
        if tail.len() > room {
            let mut end = room.saturating_sub(3);
            while !tail.is_char_boundary(end) {
                end -= 1;
            }
            tail.truncate(end);
            tail.push('…');
        }
        self.text.push_str(&tail);
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
    fn a_long_header_footer_or_first_item_still_fits_and_moves_on() {
        for max in [MIN_TOKENS, 1000] {
            let mut page = Page::new(&"q".repeat(20_000), max);
            let huge = "y".repeat(100_000);
            assert!(page.push(&huge), "the first item goes in, cut");
            assert!(!page.push("more"), "and fills the page");
            let text = page.finish(Some("p".repeat(5000)), &"f".repeat(5000));
            assert!(tokens(&text) <= max, "{} > {max}", tokens(&text));
            assert!(text.contains("[cut to fit max_tokens]"));
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
