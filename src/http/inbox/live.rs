//! Live updates of the inbox: which threads changed, told to every open page
//! over Server-Sent Events. On SQLite the one server tells its own pages; on
//! PostgreSQL a change is announced with `NOTIFY`, and every node (the one that
//! made it too) hears it on its `LISTEN` connection and tells its pages.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
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

/// What a page's stream does with a change (of a thread; `None`: the page
/// missed some and refreshes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Send,
    /// A thread the viewer may not see.
    Skip,
    /// The session no longer holds.
    End,
}

/// Decides what a stream does with each change.
pub type Gate = Arc<
    dyn Fn(Option<Uuid>) -> std::pin::Pin<Box<dyn std::future::Future<Output = Verdict> + Send>>
        + Send
        + Sync,
>;

/// A gate that sends every change: the viewer sees everything.
pub fn open_gate() -> Gate {
    Arc::new(|_| Box::pin(async { Verdict::Send }))
}

/// Streams one session may hold open at once (a few tabs).
pub const STREAMS_PER_SESSION: usize = 10;

/// Streams open on this node, by session, within their limits.
struct Streams {
    cap: usize,
    open: Mutex<HashMap<String, usize>>,
}

/// Why a stream was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The session has [`STREAMS_PER_SESSION`] open.
    Session,
    /// The node has its cap open.
    Node,
}

/// One open stream's place, given back when the stream ends.
struct Slot {
    streams: Arc<Streams>,
    session: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.streams.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.session) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.session);
            }
        }
    }
}

impl Streams {
    fn take(self: &Arc<Self>, session: &str) -> Result<Slot, Refused> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.get(session).copied().unwrap_or(0) >= STREAMS_PER_SESSION {
            return Err(Refused::Session);
        }
        if open.values().sum::<usize>() >= self.cap {
            return Err(Refused::Node);
        }
        *open.entry(session.to_owned()).or_default() += 1;
        Ok(Slot {
            streams: self.clone(),
            session: session.to_owned(),
        })
    }
}

pub struct Live {
    changes: broadcast::Sender<Uuid>,
    /// Changes waiting to be announced (PostgreSQL), to the task that gathers
    /// them; started by the first change.
    announcer: OnceLock<mpsc::UnboundedSender<Uuid>>,
    /// Set when the server stops: every stream ends, so that shutdown does not
    /// wait for pages that would stay connected for ever.
    closing: watch::Sender<bool>,
    streams: Arc<Streams>,
}

impl Live {
    /// At most `cap` streams open on this node at once (and
    /// [`STREAMS_PER_SESSION`] per session), so that pages never take the
    /// connections that the APIs need.
    pub fn new(cap: usize) -> Self {
        Self {
            changes: broadcast::channel(BACKLOG).0,
            announcer: OnceLock::new(),
            closing: watch::channel(false).0,
            streams: Arc::new(Streams {
                cap,
                open: Mutex::default(),
            }),
        }
    }

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

    /// The event stream of one page of `session`: a `change` event naming
    /// the thread, or `refresh` when the page missed some; refused beyond
    /// the limits. `gate` decides, before each event, whether the page may
    /// hear of that thread (the viewer's scope), and whether the session
    /// still holds (a disabled member's stream ends).
    pub fn stream(
        &self,
        session: &str,
        gate: Gate,
    ) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>> + use<>>, Refused> {
        let slot = self.streams.take(session)?;
        let receiver = self.changes.subscribe();
        let closing = self.closing.subscribe();
        let stream = futures_util::stream::unfold(
            (receiver, closing, true, slot, gate),
            |(mut receiver, mut closing, first, slot, gate)| async move {
                if first {
                    // Reconnect a second after a lost connection.
                    let hello = Event::default()
                        .event("hello")
                        .data("")
                        .retry(Duration::from_secs(1));
                    return Some((Ok(hello), (receiver, closing, false, slot, gate)));
                }
                loop {
                    if *closing.borrow() {
                        return None;
                    }
                    let (thread, event) = tokio::select! {
                        change = receiver.recv() => match change {
                            Ok(thread) => (
                                Some(thread),
                                Event::default().event("change").data(thread.to_string()),
                            ),
                            Err(broadcast::error::RecvError::Lagged(_)) => {
                                (None, Event::default().event("refresh").data(""))
                            }
                            Err(broadcast::error::RecvError::Closed) => return None,
                        },
                        _ = closing.changed() => return None,
                    };
                    match gate(thread).await {
                        Verdict::Send => {
                            return Some((Ok(event), (receiver, closing, false, slot, gate)));
                        }
                        Verdict::Skip => {}
                        Verdict::End => return None,
                    }
                }
            },
        );
        Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_stream_gives_its_place_back_when_it_ends() {
        let live = Live::new(12);
        let mut first: Vec<_> = (0..10)
            .map(|_| live.stream("a", open_gate()).unwrap())
            .collect();
        assert_eq!(live.stream("a", open_gate()).err(), Some(Refused::Session));
        let second: Vec<_> = (0..2)
            .map(|_| live.stream("b", open_gate()).unwrap())
            .collect();
        assert_eq!(live.stream("c", open_gate()).err(), Some(Refused::Node));
        first.pop();
        assert!(live.stream("c", open_gate()).is_ok(), "a place came free");
        drop(first);
        drop(second);
        assert!(live.streams.open.lock().unwrap().is_empty());
    }
}
