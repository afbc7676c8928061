//! What one request's work holds, and how it ends.
//!
//! A request takes an in-flight slot (and, once its tenant is known, one of its
//! tenant's slots) when it is admitted. Its blocking work (a query, a directory walk)
//! runs on tokio's blocking pool, which cannot be interrupted from outside: when the
//! request times out or its client goes away, the handler is dropped but the work goes
//! on. So the slots are held by the work, not by the handler, and freed only when the
//! last holder is done; and the request's stop flag is set when the request ends, which
//! every query checks between visits. The server's capacity therefore counts what
//! really runs, and what a gone request started stops at its next check.

use std::sync::{Arc, Mutex};

use codegraph_core::{Budget, Cancel};
use prometheus::IntGauge;
use tokio::sync::OwnedSemaphorePermit;

use super::error::{ApiError, ApiResult};

/// One request's slots and budget; clones share them. Taken from the request's
/// extensions by handlers (`Extension<Work>`).
#[derive(Clone)]
pub struct Work {
    slots: Arc<Mutex<Vec<OwnedSemaphorePermit>>>,
    budget: Arc<Budget>,
    running: IntGauge,
}

impl Work {
    /// The work of a request admitted with `slot` (none for probes), allowed `visits`
    /// and stopped by `cancel`.
    pub fn new(
        slot: Option<OwnedSemaphorePermit>,
        visits: u64,
        cancel: Cancel,
        running: IntGauge,
    ) -> Work {
        Work {
            slots: Arc::new(Mutex::new(slot.into_iter().collect())),
            budget: Arc::new(Budget::new(visits, cancel)),
            running,
        }
    }

    /// Holds `slot` (the tenant's) until the work is done too.
    pub fn hold(&self, slot: OwnedSemaphorePermit) {
        self.slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(slot);
    }

    /// The request's budget, shared by every query it makes.
    pub fn budget(&self) -> &Budget {
        &self.budget
    }

    /// Runs `f` on the blocking pool with the request's budget, holding the request's
    /// slots until `f` returns, whether or not anyone still waits for it.
    pub async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Budget) -> ApiResult<T> + Send + 'static,
    ) -> ApiResult<T> {
        let held = self.clone();
        held.running.inc();
        tokio::task::spawn_blocking(move || {
            // The whole of `held`, slots included: a closure naming only its fields
            // would capture only those, and free the slots with the handler.
            let held = held;
            let _done = Running(&held.running);
            f(&held.budget)
        })
        .await
        .map_err(|e| ApiError::internal(format!("a request handler failed: {e}")))?
    }
}

/// Counts blocking work down when it ends, however it ends (a panic included).
struct Running<'a>(&'a IntGauge);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Sets a request's stop flag when dropped: when the request is answered, times out,
/// or is abandoned by its client (hyper drops the request's future then).
pub struct StopOnDrop(pub Cancel);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::Semaphore;

    /// The slot is freed when the blocking work ends, not when the request's future
    /// is dropped; and the stop flag reaches the work.
    #[tokio::test]
    async fn work_holds_its_slot_until_it_ends_and_sees_the_stop() {
        let slots = Arc::new(Semaphore::new(1));
        let gauge = IntGauge::new("t", "t").unwrap();
        let cancel = Cancel::new();
        // Stops the work however the test ends, so a failed assertion cannot leave the
        // runtime waiting for it forever.
        let stop = StopOnDrop(cancel.clone());
        let work = Work::new(
            Some(Arc::clone(&slots).try_acquire_owned().unwrap()),
            1_000,
            cancel.clone(),
            gauge.clone(),
        );
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let request = tokio::spawn({
            let work = work.clone();
            async move {
                work.blocking(move |budget| {
                    started_tx.send(()).unwrap();
                    // Spins on the budget as a query does, until stopped.
                    loop {
                        match budget.spend(0) {
                            Ok(_) => std::thread::sleep(std::time::Duration::from_millis(5)),
                            Err(_) => return Ok(()),
                        }
                    }
                })
                .await
            }
        });
        drop(work);
        tokio::task::spawn_blocking(move || started_rx.recv().unwrap())
            .await
            .unwrap();
        // The request is abandoned: its future is dropped, the work goes on.
        request.abort();
        let _ = request.await;
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(
            slots.available_permits(),
            0,
            "the running work holds the slot"
        );
        assert_eq!(gauge.get(), 1);
        drop(stop);
        for _ in 0..200 {
            if slots.available_permits() == 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(slots.available_permits(), 1, "stopped work frees its slot");
        assert_eq!(gauge.get(), 0);
    }
}
