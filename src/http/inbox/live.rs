//! Live updates of the inbox: which threads changed, told to every open page
//! over Server-Sent Events. On SQLite the one server tells its own pages; on
//! PostgreSQL a change is announced with `NOTIFY`, and every node (the one that
//! made it too) hears it on its `LISTEN` connection and tells its pages.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use std::sync::OnceLock;

use tokio::sync::{broadcast, mpsc, watch};
use uuid::Uuid;

use crate::store::Store;

/// Changes kept for pages that read slowly; one that falls further behind
/// is told to refresh everything.
const BACKLOG: usize = 256;

/// How long changes are gathered into one announcement on PostgreSQL: under
/// load, one `NOTIFY` per this, instead of one per write.
const GATHER: Duration = Duration::from_millis(50);

pub struct Live {
    changes: broadcast::Sender<Uuid>,
    /// Changes waiting to be announced (PostgreSQL), to the task that gathers
    /// them; started by the first change.
    announcer: OnceLock<mpsc::UnboundedSender<Uuid>>,
    /// Set when the server stops: every stream ends, so that shutdown does not
    /// wait for pages that would stay connected for ever.
    closing: watch::Sender<bool>,
}

impl Default for Live {
    fn default() -> Self {
        Self {
            changes: broadcast::channel(BACKLOG).0,
            announcer: OnceLock::new(),
            closing: watch::channel(false).0,
        }
    }
}

impl Live {
    /// Threads changed on this node: tells every node's pages.
    pub fn changed(&self, store: &Arc<dyn Store>, threads: Vec<Uuid>) {
        if threads.is_empty() {
            return;
        }
        if store.announces_inbox() {
            // Not awaited: the answer of the write does not wait for it.
            let announcer = self.announcer.get_or_init(|| {
                let (sender, receiver) = mpsc::unbounded_channel();
                tokio::spawn(announce(store.clone(), receiver));
                sender
            });
            for id in threads {
                let _ = announcer.send(id);
            }
        } else {
            threads.into_iter().for_each(|id| self.heard(id));
        }
    }

    /// A change that this node's pages should show (from this node or,
    /// through the database, from another).
    pub fn heard(&self, thread: Uuid) {
        // No page listening is not an error.
        let _ = self.changes.send(thread);
    }

    pub fn close(&self) {
        let _ = self.closing.send(true);
    }

    /// The event stream of one page: a `change` event naming the thread, or
    /// `refresh` when the page missed some.
    pub fn stream(&self) -> Sse<impl Stream<Item = Result<Event, Infallible>> + use<>> {
        let receiver = self.changes.subscribe();
        let closing = self.closing.subscribe();
        let stream = futures_util::stream::unfold(
            (receiver, closing, true),
            |(mut receiver, mut closing, first)| async move {
                if first {
                    // Reconnect a second after a lost connection.
                    let hello = Event::default()
                        .event("hello")
                        .data("")
                        .retry(Duration::from_secs(1));
                    return Some((Ok(hello), (receiver, closing, false)));
                }
                if *closing.borrow() {
                    return None;
                }
                let event = tokio::select! {
                    change = receiver.recv() => match change {
                        Ok(thread) => Event::default().event("change").data(thread.to_string()),
                        Err(broadcast::error::RecvError::Lagged(_)) => {
                            Event::default().event("refresh").data("")
                        }
                        Err(broadcast::error::RecvError::Closed) => return None,
                    },
                    _ = closing.changed() => return None,
                };
                Some((Ok(event), (receiver, closing, false)))
            },
        );
        Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
    }
}

/// Announces changed threads, gathered over [`GATHER`], each once.
async fn announce(store: Arc<dyn Store>, mut changes: mpsc::UnboundedReceiver<Uuid>) {
    while let Some(first) = changes.recv().await {
        tokio::time::sleep(GATHER).await;
        let mut threads = vec![first];
        while let Ok(id) = changes.try_recv() {
            threads.push(id);
        }
        threads.sort_unstable();
        threads.dedup();
        if let Err(e) = store.announce_inbox(&threads).await {
            tracing::warn!(error = %e, "cannot announce an inbox change");
        }
    }
}
