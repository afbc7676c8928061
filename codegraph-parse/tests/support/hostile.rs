//! Hostile inputs built by hand, for the tests of `codegraph-parse` and of
//! `codegraph-server` (each includes this file with `#[path]`): what a well-behaved
//! archiver or git would never write.
#![allow(dead_code)] // each test target uses its own part

use std::io::Write;
use std::path::Path;
use std::process::Stdio;

/// A gzip stream of `bytes`.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// Runs git in `dir` with `input` on its standard input; its trimmed output.
pub fn git_output(dir: &Path, args: &[&str], input: &[u8]) -> String {
    let mut child = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("git is installed");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "git {args:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A zip built by hand: each entry's data deflated, with its true CRC unless
/// `bad_crc`; with `shared`, every central directory entry points at the first
/// entry's local header and data, as overlapping-entry bombs do.
pub fn raw_zip(entries: &[(&str, &[u8])], bad_crc: bool, shared: bool) -> Vec<u8> {
    fn u16le(out: &mut Vec<u8>, v: u16) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    fn u32le(out: &mut Vec<u8>, v: u32) {
        out.extend_from_slice(&v.to_le_bytes());
    }
    let mut out = Vec::new();
    let mut central = Vec::new();
    let mut first: Option<(u32, u32, u32, u32)> = None;
    for (name, data) in entries {
        let (offset, crc, compressed_len, size) = match (shared, first) {
            (true, Some(f)) => f,
            _ => {
                let mut encoder =
                    flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
                encoder.write_all(data).unwrap();
                let compressed = encoder.finish().unwrap();
                let mut crc = flate2::Crc::new();
                crc.update(data);
                let crc = if bad_crc { crc.sum() ^ 1 } else { crc.sum() };
                let offset = out.len() as u32;
                out.extend_from_slice(b"PK\x03\x04");
                for v in [20u16, 0, 8, 0, 0] {
                    u16le(&mut out, v);
                }
                for v in [crc, compressed.len() as u32, data.len() as u32] {
                    u32le(&mut out, v);
                }
                u16le(&mut out, name.len() as u16);
                u16le(&mut out, 0);
                out.extend_from_slice(name.as_bytes());
                out.extend_from_slice(&compressed);
                let f = (offset, crc, compressed.len() as u32, data.len() as u32);
                first.get_or_insert(f);
                f
            }
        };
        central.extend_from_slice(b"PK\x01\x02");
        for v in [20u16, 20, 0, 8, 0, 0] {
            u16le(&mut central, v);
        }
        for v in [crc, compressed_len, size] {
            u32le(&mut central, v);
        }
        for v in [name.len() as u16, 0, 0, 0, 0] {
            u16le(&mut central, v);
        }
        u32le(&mut central, 0);
        u32le(&mut central, offset);
        central.extend_from_slice(name.as_bytes());
    }
    let directory = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(b"PK\x05\x06");
    for v in [0u16, 0, entries.len() as u16, entries.len() as u16] {
        u16le(&mut out, v);
    }
    u32le(&mut out, central.len() as u32);
    u32le(&mut out, directory);
    u16le(&mut out, 0);
    out
}
