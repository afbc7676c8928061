//! Tags files: the ctags format vim reads and the etags format Emacs reads.

use std::io::Write;

use codegraph_core::{Node, NodeKind, ParsedFile};

/// A definition with the context the writers need from its file.
pub struct Symbol<'a> {
    pub node: &'a Node,
    /// The kind and qualified name of the enclosing definition, when it is not the file.
    pub scope: Option<(NodeKind, &'a str)>,
}

/// A tag field may not hold tabs or line breaks.
fn clean(text: &str) -> String {
    text.replace(['\t', '\n', '\r'], " ")
}

/// Appends `text` with tabs and line breaks turned into spaces.
fn push_clean(line: &mut Vec<u8>, text: &str) {
    line.extend(text.bytes().map(|b| match b {
        b'\t' | b'\n' | b'\r' => b' ',
        b => b,
    }));
}

/// One extended-format ctags line per definition, with the fields universal-ctags
/// writes by default plus the line number. Addresses are line numbers, which vim and
/// Emacs's ctags readers both follow. Signatures are left to the JSON formats.
pub fn ctags_lines(parsed: &ParsedFile, symbols: &[Symbol<'_>]) -> Vec<Vec<u8>> {
    use std::io::Write as _;
    let language = parsed.language.display_name();
    symbols
        .iter()
        .map(|symbol| {
            let n = symbol.node;
            let mut line = Vec::with_capacity(n.name.len() + parsed.path.len() + 64);
            push_clean(&mut line, &n.name);
            line.push(b'\t');
            push_clean(&mut line, &parsed.path);
            let row = n.name_span.start_line;
            write!(
                line,
                "\t{row};\"\tkind:{}\tline:{row}\tlanguage:{language}",
                n.kind
            )
            .expect("writing to memory cannot fail");
            if let Some((kind, scope)) = symbol.scope {
                write!(line, "\t{kind}:").expect("writing to memory cannot fail");
                push_clean(&mut line, scope);
            }
            line
        })
        .collect()
}

/// Writes a ctags file from lines already sorted by byte order, which is what vim's
/// binary search expects of `!_TAG_FILE_SORTED 1`.
pub fn write_ctags(out: &mut impl Write, sorted_lines: &[&[u8]]) -> std::io::Result<()> {
    out.write_all(
        b"!_TAG_FILE_FORMAT\t2\t/extended format; --format=1 will not append ;\" to lines/\n\
          !_TAG_FILE_SORTED\t1\t/0=unsorted, 1=sorted, 2=foldcase/\n\
          !_TAG_PROGRAM_NAME\tcodegraph\t//\n",
    )?;
    writeln!(
        out,
        "!_TAG_PROGRAM_VERSION\t{}\t//",
        env!("CARGO_PKG_VERSION")
    )?;
    for line in sorted_lines {
        out.write_all(line)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// One file's section of an Emacs TAGS file: a form feed, `path,size`, then one
/// `line-text DEL name SOH line,offset` entry per definition.
pub fn etags_section(parsed: &ParsedFile, bytes: &[u8], symbols: &[Symbol<'_>]) -> Vec<u8> {
    let mut entries: Vec<u8> = Vec::new();
    for symbol in symbols {
        let n = symbol.node;
        let (prefix, offset) = etags_prefix(bytes, n.name_span.end_byte as usize);
        entries.extend_from_slice(clean(&prefix).as_bytes());
        entries.push(0x7f);
        entries.extend_from_slice(clean(&n.name).as_bytes());
        entries.push(0x01);
        entries.extend_from_slice(format!("{},{}\n", n.name_span.start_line, offset).as_bytes());
    }
    let mut section = format!("\x0c\n{},{}\n", parsed.path, entries.len()).into_bytes();
    section.extend_from_slice(&entries);
    section
}

/// The text Emacs searches for: the name's line up to the end of the name, at most
/// the last 120 bytes of it (minified lines run to megabytes), and the offset of the
/// line.
fn etags_prefix(bytes: &[u8], name_end: usize) -> (String, usize) {
    let name_end = name_end.min(bytes.len());
    let line_start = bytes[..name_end]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let mut start = line_start.max(name_end.saturating_sub(120));
    // Do not cut a UTF-8 sequence in half.
    while start < name_end && (bytes[start] & 0b1100_0000) == 0b1000_0000 {
        start += 1;
    }
    (
        String::from_utf8_lossy(&bytes[start..name_end]).into_owned(),
        line_start,
    )
}
