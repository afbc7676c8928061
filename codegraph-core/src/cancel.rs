//! Stopping long work from outside: a job cancelled, a request gone, a shutdown; and
//! bounding the work of one query.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

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

/// How much one query may do: a stop flag, and a number of *visits* (a name scanned,
/// a node read, an edge followed) after which the query ends early with what it has
/// found so far and says so (`truncated`). A server gives each request one budget, so
/// however a request is composed (GraphQL aliases, several fields) its work is bounded.
///
/// ```
/// use codegraph_core::{Budget, Cancel};
///
/// let budget = Budget::new(3, Cancel::new());
/// assert!(budget.spend(2).unwrap());
/// assert!(!budget.spend(2).unwrap()); // over: stop here
/// assert!(budget.truncated());
/// ```
#[derive(Debug)]
pub struct Budget {
    cancel: Cancel,
    left: AtomicU64,
    truncated: AtomicBool,
}

impl Budget {
    /// A budget of `visits`, stopped early by `cancel`.
    pub fn new(visits: u64, cancel: Cancel) -> Budget {
        Budget {
            cancel,
            left: AtomicU64::new(visits),
            truncated: AtomicBool::new(false),
        }
    }

    /// No bound and no stop: for a command line, where the user can press Ctrl-C.
    pub fn unlimited() -> Budget {
        Budget::new(u64::MAX, Cancel::new())
    }

    /// Spends `n` visits. `Ok(true)` while the budget lasts; `Ok(false)` once it is
    /// spent (the query stops, and [`Budget::truncated`] turns true); `Err(Stopped)`
    /// once the stop flag is set.
    pub fn spend(&self, n: u64) -> crate::Result<bool> {
        self.cancel.check()?;
        let spent = self
            .left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(n)
            })
            .is_ok();
        if !spent {
            self.left.store(0, Ordering::Relaxed);
            self.truncated.store(true, Ordering::Relaxed);
        }
        Ok(spent)
    }

    /// How many visits are left: a bound to pass to a store call that takes a limit.
    pub fn left(&self) -> u64 {
        self.left.load(Ordering::Relaxed)
    }

    /// Whether a query ran out of this budget: its answer is incomplete.
    pub fn truncated(&self) -> bool {
        self.truncated.load(Ordering::Relaxed)
    }

    /// The stop flag.
    pub fn cancel(&self) -> &Cancel {
        &self.cancel
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_runs_out_and_stops() {
        let budget = Budget::new(10, Cancel::new());
        assert!(budget.spend(10).unwrap());
        assert!(!budget.truncated());
        assert!(!budget.spend(1).unwrap());
        assert!(budget.truncated());
        assert_eq!(budget.left(), 0);
        let budget = Budget::new(10, Cancel::new());
        budget.cancel().cancel();
        assert!(matches!(budget.spend(1), Err(crate::Error::Stopped)));
        assert!(Budget::unlimited().spend(u64::MAX).unwrap());
    }

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
