//! CodeGraph search.
//!
//! This crate will hold full-text search (BM25), embedders, vector indexes and hybrid
//! ranking. It is empty until that work lands (issue 4); it exists now so the workspace
//! has its final shape.
