//! Resolutions taken from a compiler-grade indexer: for reference sites of a file, the
//! definitions a SCIP index (read by the engine) says they name. A file's sites hold
//! only while the file has the content they were read from: an edit drops the file back
//! to the heuristics until the next import.
//!
//! The resolver still reads each target by name through the view, so a precise edge
//! depends on its target's name like any other edge and is resolved again (or dropped)
//! when the target changes: no edge outlives its target.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

use codegraph_core::{NodeId, Reference, ReferenceKind};
use serde::{Deserialize, Serialize};

/// Precise resolutions of one project, by file path.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Precise {
    /// The files covered, by path.
    #[serde(with = "shared_files")]
    pub files: BTreeMap<String, Arc<PreciseFile>>,
}

/// Serde for the shared files (serde's own `Arc` support is a feature every crate of
/// the workspace would be rebuilt for).
mod shared_files {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        files: &BTreeMap<String, Arc<PreciseFile>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_map(files.iter().map(|(k, v)| (k, &**v)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<BTreeMap<String, Arc<PreciseFile>>, D::Error> {
        let files = BTreeMap::<String, PreciseFile>::deserialize(d)?;
        Ok(files.into_iter().map(|(k, v)| (k, Arc::new(v))).collect())
    }
}

/// One file's precise resolutions.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct PreciseFile {
    /// xxh3-64 of the file's content when the sites were imported; they apply only
    /// while the file's content hash is this.
    pub content_hash: u64,
    /// The sites the index resolved.
    pub sites: Vec<PreciseSite>,
    #[serde(skip)]
    by_span: OnceLock<HashMap<(ReferenceKind, u32, u32), Vec<usize>>>,
}

/// One reference site and what it names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreciseSite {
    /// The reference's kind.
    pub kind: ReferenceKind,
    /// The reference's span, as the parser recorded it.
    pub start_byte: u32,
    /// End of that span.
    pub end_byte: u32,
    /// The name looked up at the site.
    pub name: String,
    /// The project's definitions the site names; empty when it names something outside
    /// the project (a library, the language's runtime), which then gets no edge.
    pub targets: Vec<NodeId>,
}

impl PreciseFile {
    /// A file's resolutions, read from content with hash `content_hash`.
    pub fn new(content_hash: u64, sites: Vec<PreciseSite>) -> PreciseFile {
        PreciseFile {
            content_hash,
            sites,
            by_span: OnceLock::new(),
        }
    }

    /// What the index says reference `r` names; `None` when it does not cover the site.
    pub fn site(&self, r: &Reference) -> Option<&[NodeId]> {
        let by_span = self.by_span.get_or_init(|| {
            let mut map: HashMap<_, Vec<usize>> = HashMap::new();
            for (i, s) in self.sites.iter().enumerate() {
                map.entry((s.kind, s.start_byte, s.end_byte))
                    .or_default()
                    .push(i);
            }
            map
        });
        by_span
            .get(&(r.kind, r.span.start_byte, r.span.end_byte))?
            .iter()
            .map(|&i| &self.sites[i])
            .find(|s| s.name == r.name)
            .map(|s| s.targets.as_slice())
    }
}

impl Precise {
    /// The files whose content is still the one their sites were read from, given each
    /// path's current content hash.
    pub(crate) fn applicable(
        &self,
        current: impl Fn(&str) -> Option<u64>,
    ) -> HashMap<String, Arc<PreciseFile>> {
        self.files
            .iter()
            .filter(|(path, f)| current(path) == Some(f.content_hash))
            .map(|(path, f)| (path.clone(), Arc::clone(f)))
            .collect()
    }

    /// Sites over all files.
    pub fn sites(&self) -> usize {
        self.files.values().map(|f| f.sites.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use codegraph_core::Span;

    fn reference(kind: ReferenceKind, start: u32, end: u32, name: &str) -> Reference {
        Reference {
            kind,
            source: NodeId::for_file("a.ts"),
            subject: None,
            qualifier: None,
            name: name.to_string(),
            alias: None,
            span: Span {
                start_byte: start,
                end_byte: end,
                start_line: 1,
                start_column: 1,
                end_line: 1,
                end_column: 1,
            },
            arguments: None,
        }
    }

    #[test]
    fn sites_are_found_by_kind_span_and_name() {
        let target = NodeId::for_file("b.ts");
        let file = PreciseFile::new(
            42,
            vec![PreciseSite {
                kind: ReferenceKind::Call,
                start_byte: 10,
                end_byte: 20,
                name: "run".into(),
                targets: vec![target],
            }],
        );
        let hit = reference(ReferenceKind::Call, 10, 20, "run");
        assert_eq!(file.site(&hit), Some(&[target][..]));
        assert_eq!(
            file.site(&reference(ReferenceKind::Call, 10, 20, "go")),
            None
        );
        assert_eq!(
            file.site(&reference(ReferenceKind::Type, 10, 20, "run")),
            None
        );
        assert_eq!(
            file.site(&reference(ReferenceKind::Call, 11, 20, "run")),
            None
        );
        let precise = Precise {
            files: [("a.ts".to_string(), Arc::new(file))].into(),
        };
        assert_eq!(precise.applicable(|_| Some(42)).len(), 1);
        assert!(precise.applicable(|_| Some(43)).is_empty());
        assert!(precise.applicable(|_| None).is_empty());
    }
}
