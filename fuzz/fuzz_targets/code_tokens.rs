//! The code-aware tokenizer on arbitrary text: never panics, and every token is a
//! lowercased slice of the input at the range it claims.
#![no_main]

use codegraph_vector::tokenize::{MAX_TOKEN_BYTES, code_tokens};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut last_position = 0;
    for token in code_tokens(&text) {
        let slice = text
            .get(token.start..token.end)
            .expect("token ranges fall on character boundaries");
        assert_eq!(slice.to_lowercase(), token.text);
        assert!(token.end - token.start <= MAX_TOKEN_BYTES);
        assert!(token.position >= last_position);
        last_position = token.position;
    }
});
