//! Recall against universal-ctags on real code (opt-in: needs the corpus and ctags).
//!
//!     scripts/fetch-corpus.sh
//!     cargo test --release -p codegraph-server --test fidelity -- --ignored
//!
//! Runs `scripts/compare-ctags.py` with this build of `codegraph` and requires, for
//! each of the seven languages, that codegraph finds at least 95% of the functions,
//! methods, classes, structs, interfaces/traits and enums ctags reports, at the same
//! file and line. docs/PERFORMANCE.md records the figures and the disagreements.

use std::path::Path;
use std::process::Command;

#[test]
#[ignore = "needs scripts/fetch-corpus.sh and universal-ctags; run with --ignored"]
fn recall_against_ctags_is_at_least_95_percent_per_language() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = tempfile::tempdir().unwrap();
    let json = out.path().join("fidelity.json");
    let status = Command::new("python3")
        .arg(root.join("scripts/compare-ctags.py"))
        .arg("--codegraph")
        .arg(env!("CARGO_BIN_EXE_codegraph"))
        .arg("--json")
        .arg(&json)
        .status()
        .expect("python3 runs scripts/compare-ctags.py");
    assert!(
        status.success(),
        "compare-ctags.py failed; is the corpus fetched and ctags installed?"
    );
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    let languages = results["fidelity"].as_array().unwrap();
    assert_eq!(languages.len(), 7);
    for language in languages {
        let name = language["language"].as_str().unwrap();
        let recall = language["recall"].as_f64().unwrap();
        let compared = language["ctags_definitions"].as_u64().unwrap();
        assert!(
            compared > 1000,
            "{name}: only {compared} ctags definitions compared"
        );
        assert!(recall >= 0.95, "{name}: recall {recall:.4} < 0.95");
    }
}
