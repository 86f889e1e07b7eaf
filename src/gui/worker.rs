//! One worker type for every background job of the GUI (analysis, training,
//! extraction): a named thread at a lower priority, a channel of messages to the UI,
//! a shared control to cancel it (and, for training, pause it). Dropping it cancels
//! it without waiting on the UI thread: a worker still busy (loading models, say) is
//! joined by a reaper thread. When the window closes, [`stop_all`] cancels every
//! worker still running and waits for them, so that no analysis is still inside
//! dlib or ffmpeg while the process exits.

use crate::classifier::train::TrainControl;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The workers whose body has not returned yet: a way to cancel each, by id.
type Cancels = Vec<(u64, Box<dyn Fn() + Send>)>;

struct Live {
    cancels: Mutex<(u64, Cancels)>,
    ended: Condvar,
}

static LIVE: Live = Live {
    cancels: Mutex::new((0, Vec::new())),
    ended: Condvar::new(),
};

/// Registers a running worker; the returned guard unregisters it when dropped (at
/// the end of the worker's body, even when it panics).
fn register<C: Control>(control: &Arc<C>) -> LiveGuard {
    static AT_EXIT: std::sync::Once = std::sync::Once::new();
    AT_EXIT.call_once(|| {
        // SAFETY: registers a plain function with no arguments; it never unwinds.
        unsafe {
            libc::atexit(stop_all_at_exit);
        }
    });
    let weak: Weak<C> = Arc::downgrade(control);
    let mut g = LIVE.cancels.lock().unwrap_or_else(|e| e.into_inner());
    g.0 += 1;
    let id = g.0;
    g.1.push((
        id,
        Box::new(move || {
            if let Some(c) = weak.upgrade() {
                c.cancel();
            }
        }),
    ));
    LiveGuard(id)
}

struct LiveGuard(u64);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        let mut g = LIVE.cancels.lock().unwrap_or_else(|e| e.into_inner());
        g.1.retain(|(id, _)| *id != self.0);
        LIVE.ended.notify_all();
    }
}

/// Registered with `atexit` at the first worker, so it runs before the exit handlers
/// of the libraries loaded earlier (OpenBLAS frees its buffers in one).
extern "C" fn stop_all_at_exit() {
    let _ = std::panic::catch_unwind(|| stop_all(Duration::from_secs(10)));
}

/// Cancels every worker still running and waits up to `timeout` for them to stop.
/// Returns how many are still running (0 when all stopped). Called when the window
/// closes: a detached analysis still decoding or detecting while the process exits
/// can crash it in the libraries' exit handlers.
pub fn stop_all(timeout: Duration) -> usize {
    let start = Instant::now();
    let mut g = LIVE.cancels.lock().unwrap_or_else(|e| e.into_inner());
    for (_, cancel) in &g.1 {
        cancel();
    }
    while !g.1.is_empty() {
        let Some(left) = timeout.checked_sub(start.elapsed()) else {
            break;
        };
        g = match LIVE.ended.wait_timeout(g, left) {
            Ok((g, _)) => g,
            Err(e) => e.into_inner().0,
        };
    }
    g.1.len()
}

/// What the UI thread shares with a worker to stop it.
pub trait Control: Default + Send + Sync + 'static {
    /// Asks the worker to stop; it checks between frames, videos or batches.
    fn cancel(&self);
}

impl Control for AtomicBool {
    fn cancel(&self) {
        self.store(true, Ordering::Relaxed);
    }
}

impl Control for TrainControl {
    fn cancel(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The worker's side of the channel: each message sent also wakes the UI.
pub struct Outbox<M> {
    tx: Sender<M>,
    repaint: Box<dyn Fn() + Send + Sync>,
}

impl<M: Send> Outbox<M> {
    pub fn send(&self, m: M) {
        let _ = self.tx.send(m);
        (self.repaint)();
    }
}

/// A running worker thread. Dropping it cancels the work; the thread is joined where
/// it does not block the caller.
pub struct Worker<M, C: Control = AtomicBool> {
    rx: Receiver<M>,
    control: Arc<C>,
    thread: Option<JoinHandle<()>>,
}

impl<M: Send + 'static, C: Control> Worker<M, C> {
    /// Runs `body` on a thread called `name`, at a lower priority than the UI.
    /// `repaint` is called after each message (it asks the UI for a new pass).
    pub fn spawn(
        name: &str,
        repaint: impl Fn() + Send + Sync + 'static,
        body: impl FnOnce(&C, &Outbox<M>) + Send + 'static,
    ) -> std::io::Result<Self> {
        let (tx, rx) = channel();
        let control = Arc::new(C::default());
        let c = control.clone();
        let guard = register(&control);
        let outbox = Outbox {
            tx,
            repaint: Box::new(repaint),
        };
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let _guard = guard;
                super::lower_priority();
                body(&c, &outbox);
            })?;
        Ok(Self {
            rx,
            control,
            thread: Some(thread),
        })
    }

    /// The messages that arrived since the last call, without waiting.
    pub fn messages(&self) -> std::sync::mpsc::TryIter<'_, M> {
        self.rx.try_iter()
    }

    pub fn control(&self) -> &C {
        &self.control
    }

    pub fn cancel(&self) {
        self.control.cancel();
    }
}

/// Where a worker's job stands, as the workbench shows it: one type for the analysis
/// and the swap bench. It reads as its words ("loading models", "done", ...), and
/// compares equal to them.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum Stage {
    /// Nothing started.
    #[default]
    Idle,
    /// Running, at the named step ("starting", "loading models", "analysing", ...),
    /// or a result that ends nothing ("preview ready").
    Step(String),
    Done,
    Failed,
    Cancelled,
}

impl Stage {
    /// True before anything started.
    pub fn is_empty(&self) -> bool {
        *self == Stage::Idle
    }
}

impl Stage {
    /// The stage in words.
    pub fn as_str(&self) -> &str {
        match self {
            Stage::Idle => "",
            Stage::Step(s) => s,
            Stage::Done => "done",
            Stage::Failed => "failed",
            Stage::Cancelled => "cancelled",
        }
    }
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for Stage {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// The one way the UI reads a worker: applies the messages that arrived (`apply`
/// returns true for one that ends the job) and forgets the worker once its job ended.
/// Returns whether it ended.
pub fn drain<M: Send + 'static, C: Control>(
    slot: &mut Option<Worker<M, C>>,
    mut apply: impl FnMut(M) -> bool,
) -> bool {
    let Some(w) = slot.as_ref() else {
        return false;
    };
    let mut ended = false;
    for m in w.messages().collect::<Vec<_>>() {
        ended |= apply(m);
    }
    if ended {
        *slot = None;
    }
    ended
}

impl<M, C: Control> Drop for Worker<M, C> {
    /// Cancels; joins the thread at once when it has ended, else on a reaper thread
    /// (it stops at its next check: a frame, a video, a batch, a loading step), so
    /// that the UI never waits for it.
    fn drop(&mut self) {
        self.control.cancel();
        if let Some(t) = self.thread.take() {
            if t.is_finished() {
                let _ = t.join();
            } else {
                let reaper = std::thread::Builder::new()
                    .name("ti2net-reaper".into())
                    .spawn(move || {
                        let _ = t.join();
                    });
                // Without a reaper the thread is detached: it still stops when cancelled.
                drop(reaper);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn messages_arrive_and_a_dropped_worker_is_cancelled_and_joined() {
        let stopped = Arc::new(AtomicBool::new(false));
        let s = stopped.clone();
        let w: Worker<u32> = Worker::spawn(
            "ti2net-test",
            || {},
            move |cancel: &AtomicBool, out: &Outbox<u32>| {
                out.send(1);
                while !cancel.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(1));
                }
                s.store(true, Ordering::Relaxed);
            },
        )
        .unwrap();
        let t = std::time::Instant::now();
        let mut got = Vec::new();
        while got.is_empty() && t.elapsed() < Duration::from_secs(10) {
            got.extend(w.messages());
        }
        assert_eq!(got, vec![1]);
        drop(w);
        let t = std::time::Instant::now();
        while !stopped.load(Ordering::Relaxed) && t.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(
            stopped.load(Ordering::Relaxed),
            "the dropped worker was not cancelled"
        );
    }

    #[test]
    fn dropping_a_busy_worker_does_not_wait_for_it() {
        let done = Arc::new(AtomicBool::new(false));
        let d = done.clone();
        // A step that does not look at the cancel flag (a model loading) for 1.5 s.
        let w: Worker<u32> = Worker::spawn(
            "ti2net-test-busy",
            || {},
            move |_c, _o| {
                std::thread::sleep(Duration::from_millis(1500));
                d.store(true, Ordering::Relaxed);
            },
        )
        .unwrap();
        std::thread::sleep(Duration::from_millis(20));
        let t = std::time::Instant::now();
        drop(w);
        assert!(
            t.elapsed() < Duration::from_millis(200),
            "the drop waited {:?} for the busy thread",
            t.elapsed()
        );
        assert!(!done.load(Ordering::Relaxed));
        let t = std::time::Instant::now();
        while !done.load(Ordering::Relaxed) && t.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(
            done.load(Ordering::Relaxed),
            "the thread still ran to its end"
        );
    }
}
