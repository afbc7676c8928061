//! Stopping long work from outside: a job cancelled, a request gone, a shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A flag that long operations check between units of work (a file read, a file
/// resolved, a batch embedded) and stop at with [`Error::Stopped`](crate::Error::Stopped).
///
/// Clones share the flag: keep one and hand another to the work. What was done before
/// the stop stays consistent.
#[derive(Clone, Debug, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A flag that is not set.
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Asks every holder of this flag to stop at its next check.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether [`Cancel::cancel`] was called on this flag or a clone of it.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// `Err(Stopped)` once cancelled: for `?` between units of work.
    pub fn check(&self) -> crate::Result<()> {
        if self.is_cancelled() {
            Err(crate::Error::Stopped)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_the_flag() {
        let a = Cancel::new();
        let b = a.clone();
        assert!(a.check().is_ok());
        b.cancel();
        assert!(a.is_cancelled());
        assert!(matches!(a.check(), Err(crate::Error::Stopped)));
    }
}
