//! One worker type for every background job of the GUI (analysis, training,
//! extraction): a named thread at a lower priority, a channel of messages to the UI,
//! a shared control to cancel it (and, for training, pause it), and a join on drop.

use crate::classifier::train::TrainControl;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;

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

/// A running worker thread. Dropping it cancels the work and waits for the thread.
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
        let outbox = Outbox {
            tx,
            repaint: Box::new(repaint),
        };
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
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

impl<M, C: Control> Drop for Worker<M, C> {
    /// Cancels and waits for the thread (it stops within one frame, video or batch).
    fn drop(&mut self) {
        self.control.cancel();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
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
        assert!(
            stopped.load(Ordering::Relaxed),
            "the drop waited for the thread"
        );
    }
}
