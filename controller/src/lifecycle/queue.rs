//! Accounts waiting for a reconcile: each at most once, with when it is due and whether its
//! tags in memory may be used. Due times live in a timer wheel (tokio-util's `DelayQueue`),
//! so taking the next account costs the same with ten accounts or ten thousand.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Mutex;
use std::task::Poll;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::time::{DelayQueue, delay_queue};

#[derive(Default)]
pub struct WorkQueue {
    state: Mutex<State>,
    /// Woken on every push, take and completion: waiting workers look again.
    notify: Notify,
}

#[derive(Default)]
struct State {
    delays: DelayQueue<String>,
    queued: HashMap<String, Queued>,
    running: HashSet<String>,
    /// Pushed while running: queued again when it finishes.
    again: HashMap<String, (Instant, bool)>,
}

struct Queued {
    key: delay_queue::Key,
    at: Instant,
    known: bool,
}

impl State {
    /// Queues `account` at `at`, or brings an earlier due time forward; the tags in memory
    /// may be used only if every request said so.
    fn merge(&mut self, account: &str, at: Instant, known: bool) {
        match self.queued.get_mut(account) {
            Some(queued) => {
                if at < queued.at {
                    self.delays.reset_at(&queued.key, at);
                    queued.at = at;
                }
                queued.known &= known;
            }
            None => {
                let key = self.delays.insert_at(account.to_string(), at);
                self.queued
                    .insert(account.to_string(), Queued { key, at, known });
            }
        }
    }
}

fn lock(mutex: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

enum Polled {
    Due(String, bool),
    Idle,
    Again,
}

impl WorkQueue {
    /// Queue `account` after `delay`; `known_tags`: its tags in memory may be used (a poll
    /// of our own build), else they are read again.
    pub fn push(&self, account: &str, delay: Duration, known_tags: bool) {
        let at = Instant::now() + delay;
        {
            let mut state = lock(&self.state);
            if state.running.contains(account) {
                let entry = state
                    .again
                    .entry(account.to_string())
                    .or_insert((at, known_tags));
                entry.0 = entry.0.min(at);
                entry.1 &= known_tags;
            } else {
                state.merge(account, at, known_tags);
            }
        }
        self.notify.notify_waiters();
    }

    /// Accounts queued or being reconciled.
    pub fn len(&self) -> usize {
        let state = lock(&self.state);
        state.queued.len() + state.running.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The next due account; waits for one. `None` when `stop_when_idle` and nothing is
    /// queued or running any more.
    pub async fn next(&self, stop_when_idle: bool) -> Option<(String, bool)> {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let polled = std::future::poll_fn(|cx| {
                {
                    let mut state = lock(&self.state);
                    match state.delays.poll_expired(cx) {
                        Poll::Ready(Some(expired)) => {
                            let account = expired.into_inner();
                            let known = state
                                .queued
                                .remove(&account)
                                .is_none_or(|queued| queued.known);
                            state.running.insert(account.clone());
                            return Poll::Ready(Polled::Due(account, known));
                        }
                        Poll::Ready(None) if stop_when_idle && state.running.is_empty() => {
                            return Poll::Ready(Polled::Idle);
                        }
                        _ => {}
                    }
                }
                // Several workers wait; the timer wakes only the last one that polled, so a
                // push, a take or a completion makes every one look again.
                notified.as_mut().poll(cx).map(|()| Polled::Again)
            })
            .await;
            match polled {
                Polled::Due(account, known) => {
                    self.notify.notify_waiters();
                    return Some((account, known));
                }
                Polled::Idle => return None,
                Polled::Again => {}
            }
        }
    }

    /// `account` was reconciled; queue it again after `next` if asked.
    pub fn done(&self, account: &str, next: Option<(Duration, bool)>) {
        {
            let mut state = lock(&self.state);
            state.running.remove(account);
            if let Some((delay, known)) = next {
                state.merge(account, Instant::now() + delay, known);
            }
            if let Some((at, known)) = state.again.remove(account) {
                state.merge(account, at, known);
            }
        }
        self.notify.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn accounts_come_out_once_in_due_order() {
        let queue = WorkQueue::default();
        queue.push("b", Duration::from_secs(20), true);
        queue.push("a", Duration::from_secs(10), true);
        queue.push("b", Duration::from_secs(5), false);
        queue.push("a", Duration::from_secs(30), true);
        assert_eq!(queue.len(), 2, "one entry per account");
        let start = Instant::now();
        assert_eq!(queue.next(true).await, Some(("b".to_string(), false)));
        assert_eq!(
            start.elapsed(),
            Duration::from_secs(5),
            "the earlier time wins"
        );
        assert_eq!(queue.next(true).await, Some(("a".to_string(), true)));
        assert_eq!(start.elapsed(), Duration::from_secs(10));
        // Pushed while running: again once it is done.
        queue.push("a", Duration::ZERO, true);
        queue.done("b", None);
        queue.done("a", None);
        assert_eq!(queue.next(true).await, Some(("a".to_string(), true)));
        queue.done("a", Some((Duration::from_secs(60), true)));
        assert_eq!(queue.next(true).await, Some(("a".to_string(), true)));
        assert_eq!(start.elapsed(), Duration::from_secs(70));
        queue.done("a", None);
        assert_eq!(queue.next(true).await, None, "idle");
    }

    #[tokio::test(start_paused = true)]
    async fn every_worker_gets_work_when_many_accounts_are_due_at_once() {
        let queue = Arc::new(WorkQueue::default());
        for index in 0..100 {
            queue.push(&format!("{index:03}"), Duration::from_secs(3), true);
        }
        let start = Instant::now();
        let taken = Arc::new(Mutex::new(Vec::new()));
        let mut workers = tokio::task::JoinSet::new();
        for worker in 0..4 {
            let queue = queue.clone();
            let taken = taken.clone();
            workers.spawn(async move {
                while let Some((account, _)) = queue.next(true).await {
                    taken.lock().unwrap().push((worker, account.clone()));
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    queue.done(&account, None);
                }
            });
        }
        while workers.join_next().await.is_some() {}
        let taken = taken.lock().unwrap();
        assert_eq!(taken.len(), 100, "each account once");
        let busy: HashSet<usize> = taken.iter().map(|(w, _)| *w).collect();
        assert_eq!(busy.len(), 4, "all workers took accounts");
        // 100 one-second reconciles on 4 workers, after the 3 s delay.
        assert_eq!(start.elapsed(), Duration::from_secs(3 + 25));
    }
}
