//! Which directories a request may name: the tenant's `--allow-root`s, checked as
//! written (before the path is touched, so that refusals tell nothing of what exists
//! outside) and again after `..` and symbolic links are resolved. Used when a job is submitted and again when a
//! worker starts it (a directory on the way may have become a link since).

use std::path::{Component, Path, PathBuf};

use axum::http::StatusCode;

use super::error::{ApiError, ApiResult};

/// `path` if it lies under an allowed root once `..` and symbolic links are resolved.
pub fn allowed_path(roots: &[PathBuf], path: &str) -> ApiResult<PathBuf> {
    let p = Path::new(path);
    if !p.is_absolute() {
        return Err(ApiError::bad_request("`path` must be absolute"));
    }
    if p.components().any(|c| c == Component::ParentDir) {
        return Err(
            ApiError::forbidden("`path` may not contain `..`").with_code("path_not_allowed")
        );
    }
    if roots.is_empty() {
        return Err(ApiError::forbidden(
            "this server analyses no directories for this tenant (start it with \
             --allow-root TENANT=DIR)",
        )
        .with_code("path_not_allowed"));
    }
    // Outside every root as written: refused before anything looks at the path, so
    // the answer says nothing of what exists there.
    if !roots.iter().any(|r| p.starts_with(r)) {
        return Err(outside(path));
    }
    let canonical = p.canonicalize().map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "path_unreadable",
            format!("cannot read {path}: {e}"),
        )
    })?;
    if !roots.iter().any(|r| canonical.starts_with(r)) {
        return Err(outside(path));
    }
    Ok(canonical)
}

fn outside(path: &str) -> ApiError {
    ApiError::forbidden(format!(
        "{path} is outside every root this tenant may analyse (named as the roots are, \
         symbolic links resolved)"
    ))
    .with_code("path_not_allowed")
}

impl ApiError {
    pub(super) fn with_code(mut self, code: &'static str) -> ApiError {
        self.code = code;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Whatever path a client names, it is refused or resolves inside a root.
        #[test]
        fn allowed_paths_stay_inside_the_roots(
            parts in proptest::collection::vec(
                proptest::prop_oneof!["\\.\\.", "\\.", "inside", "link", "[a-z]{1,4}", "\\PC{0,6}"],
                0..6,
            ),
        ) {
            let (root, _outside) = fixture();
            let raw = format!("{}/{}", root.display(), parts.join("/"));
            if let Ok(p) = allowed_path(std::slice::from_ref(&root), &raw) {
                proptest::prop_assert!(p.starts_with(&root), "{} escaped to {}", raw, p.display());
            }
        }
    }

    /// A root holding a directory and a symbolic link to a directory outside it.
    fn fixture() -> (PathBuf, PathBuf) {
        static DIRS: std::sync::OnceLock<(tempfile::TempDir, tempfile::TempDir)> =
            std::sync::OnceLock::new();
        let (root, outside) = DIRS.get_or_init(|| {
            let root = tempfile::tempdir().unwrap();
            let outside = tempfile::tempdir().unwrap();
            std::fs::create_dir(root.path().join("inside")).unwrap();
            #[cfg(unix)]
            std::os::unix::fs::symlink(outside.path(), root.path().join("link")).unwrap();
            (root, outside)
        });
        (
            root.path().canonicalize().unwrap(),
            outside.path().canonicalize().unwrap(),
        )
    }

    #[test]
    fn escapes_are_refused() {
        let (root, outside) = fixture();
        let roots = std::slice::from_ref(&root);
        let inside = allowed_path(roots, &format!("{}/inside", root.display())).unwrap();
        assert_eq!(inside, root.join("inside"));
        for bad in [
            format!("{}/inside/../inside", root.display()),
            format!("{}/link", root.display()),
            outside.display().to_string(),
            "/".to_string(),
        ] {
            let e = allowed_path(roots, &bad).unwrap_err();
            assert_eq!(
                (e.status.as_u16(), e.code),
                (403, "path_not_allowed"),
                "{bad}"
            );
        }
        assert_eq!(allowed_path(roots, "relative").unwrap_err().status, 400);
    }
}
