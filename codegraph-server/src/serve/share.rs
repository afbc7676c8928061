//! Who gets the CPU when tenants compete for it.
//!
//! Admission (each tenant's share of the in-flight slots) bounds how many requests a
//! tenant has running, not how much CPU they take: eight CPU-bound queries of one
//! tenant on two cores leave another tenant's cheap search waiting behind them in the
//! OS scheduler. So the server keeps each tenant's recent CPU time (decayed, with a
//! half-life of a second) and runs the blocking work of a tenant that uses more than
//! twice what another active tenant uses on threads of lower OS priority. The OS then
//! serves the lighter tenant first, without refusing anyone and without leaving a core
//! idle: the heavier tenant still gets every cycle the other does not want, a tenant
//! alone runs as before, and tenants using about as much as each other share the CPU
//! as the OS shares it.
//!
//! Why a comparison between tenants and not a share of the cores: the cores are not
//! the server's alone (other processes, the network stack), so a tenant can hold the
//! machine while using less than "its" share of them, and then it would keep its
//! priority. Against the lightest active tenant, the heavy one is always seen.
//!
//! Analysis jobs are background work throughout: their threads run at a lower
//! priority from the start (see [`lower_priority`]), and every thread they start
//! (parsing, resolution, index writing) inherits it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How fast past CPU time is forgotten.
const HALF_LIFE: Duration = Duration::from_secs(1);

/// A tenant with work done this recently counts as active, however little it used:
/// a quiet tenant is the one to protect, and lowering the others' priority for it
/// costs them nothing while it is idle.
const ACTIVE: Duration = Duration::from_secs(2);

/// Use this old has decayed to a thousandth: forgotten.
const FORGOTTEN: Duration = Duration::from_secs(10);

/// How many times the lightest active tenant's use a tenant may use before its work
/// runs at lower priority. Above 1, so that tenants with similar loads never take
/// turns at being lowered.
const OVER: f64 = 2.0;

/// How far below the server's own a thread's OS priority is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// Left as it is.
    Normal,
    /// A nice value, 1-19: the thread still gets a share of the CPU in proportion to
    /// its weight.
    Nice(i32),
    /// Linux's `SCHED_IDLE`: the thread runs only on a core nothing else wants, and
    /// any other thread that wakes takes the core from it at once (a nice value only
    /// shortens its turns, and a woken request may wait out the rest of one).
    Idle,
}

impl std::str::FromStr for Priority {
    type Err = String;

    fn from_str(s: &str) -> Result<Priority, String> {
        match s.trim() {
            "idle" => Ok(Priority::Idle),
            n => match n.parse::<i32>() {
                Ok(0) => Ok(Priority::Normal),
                Ok(n @ 1..=19) => Ok(Priority::Nice(n)),
                _ => Err(format!(
                    "{s:?} is neither `idle` nor a nice value from 0 to 19"
                )),
            },
        }
    }
}

impl std::fmt::Display for Priority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Priority::Normal => f.write_str("0"),
            Priority::Nice(n) => write!(f, "{n}"),
            Priority::Idle => f.write_str("idle"),
        }
    }
}

/// Where a piece of blocking work runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// Tokio's blocking pool, at the server's own priority.
    Normal,
    /// A thread of its own at this priority: the tenant uses far more than another.
    Low(Priority),
}

/// Recent CPU time per tenant, and the lane it earns.
pub struct CpuShare {
    /// The low lane's priority; `Normal` turns the lane off.
    low: Priority,
    tenants: Mutex<HashMap<String, Usage>>,
}

/// CPU seconds, decayed to `at`, the time of the last charge.
#[derive(Clone, Copy)]
struct Usage {
    seconds: f64,
    at: Instant,
}

impl Usage {
    fn decayed(self, now: Instant) -> f64 {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.seconds * 0.5f64.powf(elapsed / HALF_LIFE.as_secs_f64())
    }

    /// The cores in use on average, recently: a steady use of `r` cores decays to a
    /// total of `r * HALF_LIFE / ln 2` seconds.
    fn cores(self, now: Instant) -> f64 {
        self.decayed(now) * std::f64::consts::LN_2 / HALF_LIFE.as_secs_f64()
    }
}

impl CpuShare {
    /// Tenants' CPU use; work of a tenant using far more than another runs at `low`
    /// (`Normal`: never lowered).
    pub fn new(low: Priority) -> CpuShare {
        CpuShare {
            low,
            tenants: Mutex::new(HashMap::new()),
        }
    }

    /// The lane for new work of `tenant`: low when it used more than [`OVER`] times
    /// what the lightest other active tenant used.
    pub fn lane(&self, tenant: &str) -> Lane {
        if self.low == Priority::Normal {
            return Lane::Normal;
        }
        let now = Instant::now();
        let mut tenants = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
        // Forgotten tenants keep the map as small as the set of recent users.
        tenants.retain(|_, u| now.saturating_duration_since(u.at) < FORGOTTEN);
        let mine = tenants.get(tenant).map_or(0.0, |u| u.cores(now));
        let lightest = tenants
            .iter()
            .filter(|(t, u)| t.as_str() != tenant && now.saturating_duration_since(u.at) < ACTIVE)
            .map(|(_, u)| u.cores(now))
            .reduce(f64::min);
        match lightest {
            Some(lightest) if mine > OVER * lightest => Lane::Low(self.low),
            _ => Lane::Normal,
        }
    }

    /// Counts `cpu` of work done for `tenant`.
    pub fn charge(&self, tenant: &str, cpu: Duration) {
        let now = Instant::now();
        let mut tenants = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
        let seconds = cpu.as_secs_f64();
        match tenants.get_mut(tenant) {
            Some(usage) => {
                *usage = Usage {
                    seconds: usage.decayed(now) + seconds,
                    at: now,
                }
            }
            None => {
                tenants.insert(tenant.to_string(), Usage { seconds, at: now });
            }
        }
    }
}

/// CPU time the calling thread has used.
pub fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes the timespec it is given.
    let ok = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } == 0;
    if !ok {
        return Duration::ZERO;
    }
    Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}

/// Lowers the calling thread's OS priority to `priority` (never raises it: an
/// unprivileged process could not lower it again). On Linux priorities belong to the
/// thread, and threads it starts inherit them; elsewhere they belong to the process,
/// so nothing is changed.
pub fn lower_priority(priority: Priority) {
    #[cfg(target_os = "linux")]
    {
        let failed = match priority {
            Priority::Normal => false,
            Priority::Nice(nice) => {
                // SAFETY: plain integer arguments; `who` 0 is the calling thread.
                let current = unsafe { libc::getpriority(libc::PRIO_PROCESS as _, 0) };
                nice > current
                    && unsafe { libc::setpriority(libc::PRIO_PROCESS as _, 0, nice) } != 0
            }
            Priority::Idle => {
                let param = libc::sched_param { sched_priority: 0 };
                // SAFETY: `param` outlives the call; pid 0 is the calling thread.
                unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) != 0 }
            }
        };
        if failed {
            tracing::debug!(
                %priority,
                error = %std::io::Error::last_os_error(),
                "cannot lower a thread's priority"
            );
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = priority;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tenant_alone_or_as_busy_as_the_others_runs_at_normal_priority() {
        let share = CpuShare::new(Priority::Nice(10));
        share.charge("flood", Duration::from_secs(3));
        assert_eq!(
            share.lane("flood"),
            Lane::Normal,
            "alone, every core is its"
        );
        share.charge("busy", Duration::from_secs(2));
        assert_eq!(
            share.lane("flood"),
            Lane::Normal,
            "1.5 times: no turns taken"
        );
        assert_eq!(share.lane("busy"), Lane::Normal);
        assert_eq!(share.lane("new"), Lane::Normal, "nothing used yet");
    }

    #[test]
    fn a_quiet_tenant_counts_however_little_it_uses() {
        let share = CpuShare::new(Priority::Nice(10));
        share.charge("flood", Duration::from_millis(2500));
        share.charge("quiet", Duration::from_micros(100));
        assert_eq!(share.lane("flood"), Lane::Low(Priority::Nice(10)));
        assert_eq!(share.lane("quiet"), Lane::Normal);
        // The lightest tenant decides: a third, busy one does not hide the quiet one.
        share.charge("busy", Duration::from_millis(2400));
        assert_eq!(share.lane("flood"), Lane::Low(Priority::Nice(10)));
        assert_eq!(share.lane("busy"), Lane::Low(Priority::Nice(10)));
        assert_eq!(share.lane("quiet"), Lane::Normal);
    }

    #[test]
    fn a_tenant_gone_quiet_stops_counting() {
        let share = CpuShare::new(Priority::Nice(10));
        share.charge("busy", Duration::from_millis(2500));
        let long_ago = Instant::now() - ACTIVE - Duration::from_millis(10);
        share.tenants.lock().unwrap().insert(
            "gone".into(),
            Usage {
                seconds: 1.0,
                at: long_ago,
            },
        );
        assert_eq!(share.lane("busy"), Lane::Normal);
    }

    #[test]
    fn nice_zero_turns_the_low_lane_off() {
        let share = CpuShare::new(Priority::Normal);
        share.charge("a", Duration::from_secs(10));
        share.charge("b", Duration::from_secs(10));
        assert_eq!(share.lane("a"), Lane::Normal);
    }

    #[test]
    fn idle_takes_the_thread_out_of_the_normal_policy() {
        std::thread::spawn(|| {
            lower_priority(Priority::Idle);
            #[cfg(target_os = "linux")]
            assert_eq!(unsafe { libc::sched_getscheduler(0) }, libc::SCHED_IDLE);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn priorities_parse_from_flags() {
        assert_eq!("idle".parse(), Ok(Priority::Idle));
        assert_eq!("0".parse(), Ok(Priority::Normal));
        assert_eq!("19".parse(), Ok(Priority::Nice(19)));
        assert!("20".parse::<Priority>().is_err());
        assert!("-5".parse::<Priority>().is_err());
        assert!("low".parse::<Priority>().is_err());
    }

    #[test]
    fn use_is_forgotten_with_time() {
        let now = Instant::now();
        let old = Usage {
            seconds: 8.0,
            at: now - Duration::from_secs(3),
        };
        assert!((old.decayed(now) - 1.0).abs() < 1e-9, "three half-lives");
    }

    #[test]
    fn thread_cpu_counts_work_and_lower_priority_sticks() {
        let before = thread_cpu();
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(thread_cpu() > before);
        std::thread::spawn(|| {
            #[cfg(target_os = "linux")]
            {
                let current = unsafe { libc::getpriority(libc::PRIO_PROCESS as _, 0) };
                let lower = (current + 2).clamp(1, 19);
                lower_priority(Priority::Nice(lower));
                assert_eq!(
                    unsafe { libc::getpriority(libc::PRIO_PROCESS as _, 0) },
                    lower
                );
                // Never raised back.
                lower_priority(Priority::Nice(current.max(1)));
                assert_eq!(
                    unsafe { libc::getpriority(libc::PRIO_PROCESS as _, 0) },
                    lower
                );
            }
        })
        .join()
        .unwrap();
    }
}
