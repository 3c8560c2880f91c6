//! The faults this node applies: a copy of the database's faults, kept in
//! memory so that a request without faults costs no query, and reloaded when
//! any node changes them (on PostgreSQL every node hears of a change).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use uuid::Uuid;

use crate::domain::fault::{Aimed, Fault, Stage, WebhookFault};
use crate::store::{Store, StoreResult};

pub struct FaultBook {
    store: Arc<dyn Store>,
    faults: RwLock<Arc<Vec<Fault>>>,
    /// Counts the changes heard of; a request that finds the copy older than
    /// the last change reads the faults itself, so that nothing it runs after
    /// a change is answered from before it.
    changes: AtomicU64,
    /// The change count the copy was read after.
    copied: AtomicU64,
}

impl FaultBook {
    /// The book of `store`'s faults, read on the first request.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self {
            store,
            faults: RwLock::new(Arc::new(Vec::new())),
            changes: AtomicU64::new(1),
            copied: AtomicU64::new(0),
        }
    }

    /// The faults changed (here or on another node).
    pub fn changed(&self) {
        self.changes.fetch_add(1, Ordering::AcqRel);
    }

    /// Reads the faults from the database now; what every node applies.
    pub async fn reload(&self) -> StoreResult<Arc<Vec<Fault>>> {
        let change = self.changes.load(Ordering::Acquire);
        let faults = Arc::new(self.store.faults().await?);
        if let Ok(mut current) = self.faults.write()
            && self.copied.load(Ordering::Acquire) <= change
        {
            *current = faults.clone();
            self.copied.store(change, Ordering::Release);
        }
        Ok(faults)
    }

    async fn current(&self) -> StoreResult<Arc<Vec<Fault>>> {
        if self.copied.load(Ordering::Acquire) < self.changes.load(Ordering::Acquire) {
            return self.reload().await;
        }
        Ok(self
            .faults
            .read()
            .map(|faults| faults.clone())
            .unwrap_or_default())
    }

    /// Whether there is any fault at all.
    pub async fn any(&self) -> StoreResult<bool> {
        Ok(!self.current().await?.is_empty())
    }

    /// Whether any fault could answer `request` at `stage` (chance and uses
    /// aside): when none can, the request needs no [`pick`](Self::pick).
    pub async fn could_apply(&self, request: &Aimed<'_>, stage: Stage) -> StoreResult<bool> {
        let faults = self.current().await?;
        Ok(faults.iter().any(|fault| fault.applies(request, stage)))
    }

    /// The fault that answers `request` at `stage`, if one does: the first, in the order they were added, whose
    /// probability comes up and that has a use left (which it then takes).
    pub async fn pick(&self, request: &Aimed<'_>, stage: Stage) -> StoreResult<Option<Fault>> {
        let faults = self.current().await?;
        for fault in faults.iter() {
            if !fault.applies(request, stage) || !chance(fault.probability) {
                continue;
            }
            if fault.times.is_none() || self.store.use_fault(fault.id).await? {
                return Ok(Some(fault.clone()));
            }
            // Used up, here or on another node: read them again.
            self.changed();
        }
        Ok(None)
    }
}

impl FaultBook {
    /// The webhook fault that acts on a delivery of `integration`, if one
    /// does: the first, in the order they were added, with a use left (which
    /// it then takes). A delivery a `Delay` fault `held` already is not held
    /// again.
    pub async fn pick_webhook(&self, integration: Uuid, held: bool) -> StoreResult<Option<Fault>> {
        let faults = self.current().await?;
        for fault in faults.iter() {
            if !fault.applies_to_webhook(integration)
                || (held && fault.webhook == Some(WebhookFault::Delay))
            {
                continue;
            }
            if fault.times.is_none() || self.store.use_fault(fault.id).await? {
                return Ok(Some(fault.clone()));
            }
            self.changed();
        }
        Ok(None)
    }
}

/// True with probability `p` (0 < p <= 1).
fn chance(p: f64) -> bool {
    if p >= 1.0 {
        return true;
    }
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return false;
    }
    // 53 random bits: a uniform number in [0, 1).
    let uniform = (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64;
    uniform < p
}

#[cfg(test)]
mod tests {
    use super::chance;

    #[test]
    fn chance_comes_up_about_as_often_as_asked() {
        let hits = (0..100_000).filter(|_| chance(0.25)).count();
        // 25,000 expected, standard deviation 137: 10 of them cannot flake.
        assert!((23_630..=26_370).contains(&hits), "{hits}");
        assert!((0..1000).all(|_| chance(1.0)));
    }
}
