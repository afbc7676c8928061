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
//!
//! Blocking work is charged to its tenant's CPU share when it ends, and runs on a
//! thread of lower priority while its tenant is over that share (see `share`).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use codegraph_core::{Budget, Cancel};
use prometheus::IntGauge;
use tokio::sync::OwnedSemaphorePermit;

use super::error::{ApiError, ApiResult};
use super::share::{self, CpuShare, Lane};

/// One request's slots and budget; clones share them. Taken from the request's
/// extensions by handlers (`Extension<Work>`).
#[derive(Clone)]
pub struct Work {
    slots: Arc<Mutex<Vec<OwnedSemaphorePermit>>>,
    budget: Arc<Budget>,
    /// Known once the request is authenticated; work before that is the server's.
    tenant: Arc<OnceLock<String>>,
    cpu: Arc<Cpu>,
}

/// The server's accounting of blocking work.
pub struct Cpu {
    pub share: CpuShare,
    /// Blocking work running, in either lane.
    pub running: IntGauge,
    /// Of which on low-priority threads.
    pub low: IntGauge,
}

impl Work {
    /// The work of a request admitted with `slot` (none for probes), allowed `visits`
    /// and stopped by `cancel`.
    pub fn new(
        slot: Option<OwnedSemaphorePermit>,
        visits: u64,
        cancel: Cancel,
        cpu: Arc<Cpu>,
    ) -> Work {
        Work {
            slots: Arc::new(Mutex::new(slot.into_iter().collect())),
            budget: Arc::new(Budget::new(visits, cancel)),
            tenant: Arc::new(OnceLock::new()),
            cpu,
        }
    }

    /// The work is `tenant`'s, and holds `slot` (the tenant's) until it is done too.
    pub fn hold(&self, tenant: &str, slot: OwnedSemaphorePermit) {
        let _ = self.tenant.set(tenant.to_string());
        self.slots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(slot);
    }

    /// The request's budget, shared by every query it makes.
    pub fn budget(&self) -> &Budget {
        &self.budget
    }

    /// The same budget, for work that outlives a borrow of this (an MCP tool's).
    #[cfg_attr(not(feature = "mcp"), allow(dead_code))]
    pub fn shared_budget(&self) -> Arc<Budget> {
        Arc::clone(&self.budget)
    }

    /// Runs `f` on the blocking pool with the request's budget, holding the request's
    /// slots until `f` returns, whether or not anyone still waits for it. A tenant
    /// over its CPU share gets a thread of lower priority instead.
    pub async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Budget) -> ApiResult<T> + Send + 'static,
    ) -> ApiResult<T> {
        let held = self.clone();
        let lane = match held.tenant.get() {
            Some(tenant) => held.cpu.share.lane(tenant),
            None => Lane::Normal,
        };
        // The whole of `held`, slots included: a closure naming only its fields would
        // capture only those, and free the slots with the handler.
        let run = move || {
            let held = held;
            held.cpu.running.inc();
            let _done = Running(&held.cpu.running);
            let started = share::thread_cpu();
            let answer = f(&held.budget);
            if let Some(tenant) = held.tenant.get() {
                held.cpu
                    .share
                    .charge(tenant, share::thread_cpu().saturating_sub(started));
            }
            answer
        };
        match lane {
            Lane::Normal => tokio::task::spawn_blocking(run)
                .await
                .map_err(|e| ApiError::internal(format!("a request handler failed: {e}")))?,
            Lane::Low(priority) => {
                let low = self.cpu.low.clone();
                let (tx, rx) = tokio::sync::oneshot::channel();
                // A thread per piece of work: the slots bound how many there are, and
                // the priority stays with the thread, which ends with the work.
                std::thread::Builder::new()
                    .name("codegraph-low".into())
                    .spawn(move || {
                        share::lower_priority(priority);
                        low.inc();
                        // Counted down before the answer is sent: whoever has the
                        // answer sees the work ended.
                        let answer = {
                            let _low = Running(&low);
                            std::panic::catch_unwind(std::panic::AssertUnwindSafe(run))
                        };
                        let _ = tx.send(answer);
                    })
                    .map_err(|e| ApiError::internal(format!("cannot start a thread: {e}")))?;
                match rx.await {
                    Ok(Ok(answer)) => answer,
                    Ok(Err(_)) => Err(ApiError::internal(
                        "a request handler failed: it panicked (see the server log)",
                    )),
                    Err(_) => Err(ApiError::internal("a request handler failed")),
                }
            }
        }
    }
}

impl Cpu {
    /// `fut`, charging `tenant` with the time spent polling it (the request's work on
    /// the async threads: authentication, cache lookups, serialisation) when it ends
    /// or is dropped. A tenant whose answers all come from the cache still uses the
    /// CPU, and counts among those sharing it.
    pub fn charged<F: Future>(self: &Arc<Self>, tenant: &str, fut: F) -> Charged<F> {
        Charged {
            fut: Box::pin(fut),
            spent: Duration::ZERO,
            tenant: tenant.to_string(),
            cpu: Arc::clone(self),
        }
    }
}

/// See [`Cpu::charged`].
pub struct Charged<F> {
    fut: Pin<Box<F>>,
    spent: Duration,
    tenant: String,
    cpu: Arc<Cpu>,
}

impl<F: Future> Future for Charged<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        // Wall time within a poll: a poll does not block, so this is CPU time but for
        // preemption, and far cheaper to read than the thread's CPU clock.
        let started = Instant::now();
        let polled = this.fut.as_mut().poll(cx);
        this.spent += started.elapsed();
        polled
    }
}

impl<F> Drop for Charged<F> {
    fn drop(&mut self) {
        self.cpu.share.charge(&self.tenant, self.spent);
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
        let cpu = Arc::new(Cpu {
            share: CpuShare::new(share::Priority::Idle),
            running: gauge.clone(),
            low: IntGauge::new("l", "l").unwrap(),
        });
        let cancel = Cancel::new();
        // Stops the work however the test ends, so a failed assertion cannot leave the
        // runtime waiting for it forever.
        let stop = StopOnDrop(cancel.clone());
        let work = Work::new(
            Some(Arc::clone(&slots).try_acquire_owned().unwrap()),
            1_000,
            cancel.clone(),
            cpu,
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

    /// Work of a tenant over its CPU share runs on a thread of lower priority, and
    /// is charged to its tenant either way.
    #[tokio::test]
    async fn over_share_work_runs_at_lower_priority() {
        let slots = Arc::new(Semaphore::new(4));
        let cpu = Arc::new(Cpu {
            share: CpuShare::new(share::Priority::Idle),
            running: IntGauge::new("t", "t").unwrap(),
            low: IntGauge::new("l", "l").unwrap(),
        });
        cpu.share.charge("flood", std::time::Duration::from_secs(4));
        cpu.share
            .charge("quiet", std::time::Duration::from_millis(300));
        let work = |tenant: &str| {
            let w = Work::new(None, 1_000, Cancel::new(), Arc::clone(&cpu));
            w.hold(tenant, Arc::clone(&slots).try_acquire_owned().unwrap());
            w
        };
        let on_thread = |_: &Budget| {
            let name = std::thread::current().name().unwrap_or("").to_string();
            // SAFETY: no arguments.
            let policy = unsafe { libc::sched_getscheduler(0) };
            Ok((name, policy))
        };
        let (name, policy) = work("flood").blocking(on_thread).await.unwrap();
        assert_eq!(name, "codegraph-low");
        if cfg!(target_os = "linux") {
            assert_eq!(policy, libc::SCHED_IDLE);
        }
        let (name, _) = work("quiet").blocking(on_thread).await.unwrap();
        assert_ne!(name, "codegraph-low");
        // A panic in the low lane is an error, not a lost answer.
        let panicked = work("flood")
            .blocking(|_| -> ApiResult<()> { panic!("on purpose") })
            .await;
        assert!(panicked.is_err());
        assert_eq!(cpu.running.get(), 0);
        assert_eq!(cpu.low.get(), 0);
        assert_eq!(slots.available_permits(), 4, "every slot is back");
    }
}
