//! Key and value encodings shared by the stores.
//!
//! Keys are fixed-width big-endian where they can be, so that RocksDB's byte order is
//! the numeric order and one adjacency list is one prefix scan. Every key starts with
//! the 8-byte project id, the xxh3-64 of the project name: projects cannot see each
//! other's keys, and removing a project is a range delete per column family.

#![cfg_attr(not(feature = "rocksdb"), allow(dead_code))]

use codegraph_core::{EdgeKind, Error, NodeId, Result, Span};
use rkyv::util::AlignedVec;
use xxhash_rust::xxh3::xxh3_64;

/// Site value for edges without a span (`contains`).
pub(crate) const NO_SITE: u32 = u32::MAX;

pub(crate) fn project_id(project: &str) -> [u8; 8] {
    xxh3_64(project.as_bytes()).to_be_bytes()
}

/// A one-byte code per edge kind, stable across versions (append only).
pub(crate) fn edge_kind_code(kind: EdgeKind) -> u8 {
    match kind {
        EdgeKind::Contains => 0,
        EdgeKind::Calls => 1,
        EdgeKind::Imports => 2,
        EdgeKind::Inherits => 3,
        EdgeKind::Implements => 4,
        EdgeKind::References => 5,
    }
}

pub(crate) fn edge_kind_from_code(code: u8) -> Result<EdgeKind> {
    Ok(match code {
        0 => EdgeKind::Contains,
        1 => EdgeKind::Calls,
        2 => EdgeKind::Imports,
        3 => EdgeKind::Inherits,
        4 => EdgeKind::Implements,
        5 => EdgeKind::References,
        other => return Err(Error::Corrupt(format!("unknown edge kind code {other}"))),
    })
}

/// Distinguishes several edges of one kind between the same two nodes (two calls of
/// `g` in `f`): the byte offset of the site.
pub(crate) fn site(span: Option<&Span>) -> u32 {
    span.map_or(NO_SITE, |s| s.start_byte)
}

/// `pid | a | kind | b | site`: 29 bytes. For the outgoing index `a` is the source, for
/// the incoming index the destination.
pub(crate) fn edge_key(pid: &[u8; 8], a: NodeId, kind: EdgeKind, b: NodeId, site: u32) -> [u8; 29] {
    let mut key = [0u8; 29];
    key[..8].copy_from_slice(pid);
    key[8..16].copy_from_slice(&a.to_be_bytes());
    key[16] = edge_kind_code(kind);
    key[17..25].copy_from_slice(&b.to_be_bytes());
    key[25..29].copy_from_slice(&site.to_be_bytes());
    key
}

/// The far end of an edge key; both ends and the kind are in the key, so adjacency
/// walks never read values.
pub(crate) struct EdgeKeyParts {
    pub b: NodeId,
}

pub(crate) fn decode_edge_key(key: &[u8]) -> Result<EdgeKeyParts> {
    if key.len() != 29 {
        return Err(Error::Corrupt(format!("edge key of {} bytes", key.len())));
    }
    edge_kind_from_code(key[16])?;
    Ok(EdgeKeyParts {
        b: NodeId::from_be_bytes(key[17..25].try_into().unwrap()),
    })
}

/// `pid | id`.
pub(crate) fn node_key(pid: &[u8; 8], id: NodeId) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(pid);
    key[8..].copy_from_slice(&id.to_be_bytes());
    key
}

/// `pid | bytes`: file paths and the like.
pub(crate) fn string_key(pid: &[u8; 8], s: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(8 + s.len());
    key.extend_from_slice(pid);
    key.extend_from_slice(s.as_bytes());
    key
}

/// `pid | name | 0x00 | id`: the name index. The id is the last 8 bytes, so a name may
/// hold any byte; the separator keeps `ab` before `ab_c` for a given id order.
pub(crate) fn name_key(pid: &[u8; 8], name: &str, id: NodeId) -> Vec<u8> {
    let mut key = Vec::with_capacity(17 + name.len());
    key.extend_from_slice(pid);
    key.extend_from_slice(name.as_bytes());
    key.push(0);
    key.extend_from_slice(&id.to_be_bytes());
    key
}

pub(crate) fn decode_name_key(key: &[u8]) -> Result<(String, NodeId)> {
    if key.len() < 17 || key[key.len() - 9] != 0 {
        return Err(Error::Corrupt("malformed name key".into()));
    }
    let name = std::str::from_utf8(&key[8..key.len() - 9])
        .map_err(|_| Error::Corrupt("name key is not UTF-8".into()))?;
    let id = NodeId::from_be_bytes(key[key.len() - 8..].try_into().unwrap());
    Ok((name.to_string(), id))
}

/// `pid | len(name) u32 | name | path`: which files depend on a name.
pub(crate) fn dep_prefix(pid: &[u8; 8], name: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(12 + name.len());
    key.extend_from_slice(pid);
    key.extend_from_slice(&(name.len() as u32).to_be_bytes());
    key.extend_from_slice(name.as_bytes());
    key
}

pub(crate) fn dep_key(pid: &[u8; 8], name: &str, path: &str) -> Vec<u8> {
    let mut key = dep_prefix(pid, name);
    key.extend_from_slice(path.as_bytes());
    key
}

/// rkyv bytes of a value.
pub(crate) fn to_bytes<T>(value: &T) -> Result<AlignedVec>
where
    T: for<'a> rkyv::Serialize<
            rkyv::api::high::HighSerializer<
                AlignedVec,
                rkyv::ser::allocator::ArenaHandle<'a>,
                rkyv::rancor::Error,
            >,
        >,
{
    rkyv::to_bytes::<rkyv::rancor::Error>(value)
        .map_err(|e| Error::Corrupt(format!("cannot serialise: {e}")))
}

/// Bytes aligned for rkyv. RocksDB makes no alignment promise, so unaligned values are
/// copied once; aligned ones are read in place.
pub(crate) enum Aligned<'a> {
    Borrowed(&'a [u8]),
    Owned(AlignedVec),
}

impl std::ops::Deref for Aligned<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Aligned::Borrowed(b) => b,
            Aligned::Owned(v) => v.as_slice(),
        }
    }
}

pub(crate) fn aligned(bytes: &[u8]) -> Aligned<'_> {
    if (bytes.as_ptr() as usize).is_multiple_of(16) {
        Aligned::Borrowed(bytes)
    } else {
        let mut v = AlignedVec::with_capacity(bytes.len());
        v.extend_from_slice(bytes);
        Aligned::Owned(v)
    }
}

/// Validated zero-copy access to an archived value.
pub(crate) fn access<'a, A>(bytes: &'a [u8], what: &str) -> Result<&'a A>
where
    A: rkyv::Portable
        + for<'b> rkyv::bytecheck::CheckBytes<rkyv::api::high::HighValidator<'b, rkyv::rancor::Error>>,
{
    rkyv::access::<A, rkyv::rancor::Error>(bytes)
        .map_err(|e| Error::Corrupt(format!("invalid {what} value: {e}")))
}

/// Validates and deserialises a value.
pub(crate) fn decode<T>(bytes: &[u8], what: &str) -> Result<T>
where
    T: rkyv::Archive,
    T::Archived: for<'b> rkyv::bytecheck::CheckBytes<rkyv::api::high::HighValidator<'b, rkyv::rancor::Error>>
        + rkyv::Deserialize<T, rkyv::rancor::Strategy<rkyv::de::Pool, rkyv::rancor::Error>>,
{
    let bytes = aligned(bytes);
    rkyv::from_bytes::<T, rkyv::rancor::Error>(&bytes)
        .map_err(|e| Error::Corrupt(format!("invalid {what} value: {e}")))
}
