//! Tags files: the ctags format vim reads and the etags format Emacs reads.

use std::collections::BTreeMap;
use std::io::Write;

use crate::symbols::FileSymbols;

/// A tag field may not hold tabs or line breaks.
fn clean(text: &str) -> String {
    text.replace(['\t', '\n', '\r'], " ")
}

/// Writes an extended-format ctags file sorted by tag name (byte order), as vim's
/// binary search expects (`!_TAG_FILE_SORTED 1`). Addresses are line numbers, which
/// vim and Emacs's ctags readers both follow.
pub fn write_ctags(out: &mut impl Write, files: &BTreeMap<String, FileSymbols>) -> anyhow::Result<()> {
    let mut lines: Vec<Vec<u8>> = Vec::new();
    for (path, file) in files {
        let path = clean(path);
        for symbol in &file.symbols {
            let n = &symbol.node;
            let mut line = format!(
                "{}\t{}\t{};\"\tkind:{}\tline:{}\tlanguage:{}",
                clean(&n.name),
                path,
                n.name_span.start_line,
                n.kind,
                n.name_span.start_line,
                file.language.display_name(),
            );
            if let Some((kind, scope)) = &symbol.scope {
                line.push_str(&format!("\t{kind}:{}", clean(scope)));
            }
            if let Some(signature) = &n.signature {
                line.push_str(&format!("\tsignature:{}", clean(signature)));
            }
            lines.push(line.into_bytes());
        }
    }
    lines.sort_unstable();
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
    for line in lines {
        out.write_all(&line)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Writes an Emacs TAGS file: per file a form feed, `path,size`, then one
/// `line-text DEL name SOH line,offset` entry per definition.
pub fn write_etags(out: &mut impl Write, files: &BTreeMap<String, FileSymbols>) -> anyhow::Result<()> {
    for (path, file) in files {
        let mut section: Vec<u8> = Vec::new();
        for symbol in &file.symbols {
            let n = &symbol.node;
            section.extend_from_slice(clean(&symbol.line_prefix).as_bytes());
            section.push(0x7f);
            section.extend_from_slice(clean(&n.name).as_bytes());
            section.push(0x01);
            section.extend_from_slice(
                format!("{},{}\n", n.name_span.start_line, symbol.line_offset).as_bytes(),
            );
        }
        let _ = file.size;
        out.write_all(b"\x0c\n")?;
        writeln!(out, "{},{}", path, section.len())?;
        out.write_all(&section)?;
    }
    Ok(())
}
