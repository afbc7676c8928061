//! Stable node ids.
//!
//! An id is the xxh3-64 hash of the repository-relative path, the qualified name, the
//! kind and a disambiguator, each length-prefixed so that no two different tuples
//! hash the same bytes. xxh3 is specified independently of platform and endianness, so
//! the same entity in the same file gets the same id on every run and every machine.
//! That is what lets incremental updates replace a file's nodes in place and lets
//! outside systems hold on to ids.
//!
//! The disambiguator is empty for the common case of a unique (path, name, kind), so a
//! definition keeps its id when its body or signature changes. Only overloads (several
//! definitions sharing path, qualified name and kind) fold in their normalised
//! signature and, if even that repeats, their ordinal.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A stable 64-bit node id, written as 16 lowercase hex digits. [`NodeId::new`]
/// (beside [`NodeKind`](crate::NodeKind), which it hashes) computes one.
///
/// Serialised as a hex string rather than a JSON number because JavaScript and many
/// JSON tools lose precision above 2^53.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
)]
#[rkyv(derive(Debug, Clone, Copy, PartialEq, Eq, Hash))]
pub struct NodeId(pub u64);

impl NodeId {
    /// Big-endian bytes, for keys that sort like the number.
    pub fn to_be_bytes(self) -> [u8; 8] {
        self.0.to_be_bytes()
    }

    /// The inverse of [`NodeId::to_be_bytes`], for reading ids back out of keys.
    pub fn from_be_bytes(bytes: [u8; 8]) -> NodeId {
        NodeId(u64::from_be_bytes(bytes))
    }
}

impl ArchivedNodeId {
    /// The id as a native [`NodeId`], read from its archived (little-endian) form.
    pub fn get(&self) -> NodeId {
        NodeId(self.0.to_native())
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl fmt::Debug for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeId({:016x})", self.0)
    }
}

impl FromStr for NodeId {
    type Err = crate::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 16 {
            return Err(crate::Error::InvalidInput(format!(
                "node id {s:?} is not 16 hex digits"
            )));
        }
        u64::from_str_radix(s, 16)
            .map(NodeId)
            .map_err(|_| crate::Error::InvalidInput(format!("node id {s:?} is not hexadecimal")))
    }
}

impl Serialize for NodeId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for NodeId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NodeKind;
    use proptest::prelude::*;

    #[test]
    fn ids_are_pinned() {
        // These values must never change: ids are persisted and handed to other
        // systems, so if this fails every store is invalid. They were computed
        // independently with Python's `xxhash.xxh3_64` over the same
        // length-prefixed bytes.
        let id = NodeId::new("src/lib.rs", "Foo::bar", NodeKind::Method, "");
        assert_eq!(id.to_string(), "e3648dfafee2a677");
        assert_eq!(NodeId::for_file("a.py").to_string(), "86ff21d8434b4d97");
    }

    #[test]
    fn fields_do_not_run_together() {
        assert_ne!(
            NodeId::new("ab", "c", NodeKind::Function, ""),
            NodeId::new("a", "bc", NodeKind::Function, "")
        );
        assert_ne!(
            NodeId::new("a", "b", NodeKind::Function, ""),
            NodeId::new("a", "b", NodeKind::Method, "")
        );
    }

    proptest! {
        #[test]
        fn text_round_trip(raw in any::<u64>()) {
            let id = NodeId(raw);
            prop_assert_eq!(id.to_string().parse::<NodeId>().unwrap(), id);
            let json = serde_json::to_string(&id).unwrap();
            prop_assert_eq!(serde_json::from_str::<NodeId>(&json).unwrap(), id);
            prop_assert_eq!(NodeId::from_be_bytes(id.to_be_bytes()), id);
        }

        #[test]
        fn bad_text_is_an_error_not_a_panic(text in ".{0,24}") {
            let _ = text.parse::<NodeId>();
        }
    }
}
