//! The parts of webhook delivery planning that every backend shares: how events
//! become deliveries, and how many may be in flight to one receiver.

use std::collections::HashMap;

use uuid::Uuid;

/// An event that belongs to no delivery yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnplannedEvent {
    pub seq: i64,
    pub enterprise: Uuid,
    pub message: Uuid,
    pub written_ms: i64,
}

/// The events of one new delivery: one enterprise, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub enterprise: Uuid,
    pub events: Vec<UnplannedEvent>,
}

/// Groups events (oldest first) into at most `deliveries` batches of at most
/// `batch_size` events of one enterprise; the enterprise with the oldest event
/// comes first, so no enterprise waits behind a busy one for long. Events that
/// do not fit stay for later.
pub fn batches(oldest: Vec<UnplannedEvent>, deliveries: usize, batch_size: usize) -> Vec<Batch> {
    let mut batches: Vec<Batch> = Vec::new();
    for event in oldest {
        let open = batches
            .iter()
            .position(|b| b.enterprise == event.enterprise && b.events.len() < batch_size);
        match open {
            Some(i) => batches[i].events.push(event),
            None if batches.len() < deliveries => batches.push(Batch {
                enterprise: event.enterprise,
                events: vec![event],
            }),
            None => {}
        }
    }
    batches
}

/// Counts one more delivery in flight to `integration`, if it has room.
pub fn take_room(busy: &mut HashMap<Uuid, usize>, integration: Uuid, per_receiver: usize) -> bool {
    let sending = busy.entry(integration).or_default();
    if *sending >= per_receiver {
        return false;
    }
    *sending += 1;
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(seq: i64, enterprise: u128) -> UnplannedEvent {
        UnplannedEvent {
            seq,
            enterprise: Uuid::from_u128(enterprise),
            message: Uuid::from_u128(seq as u128),
            written_ms: 0,
        }
    }

    #[test]
    fn batches_hold_one_enterprise_and_at_most_the_batch_size() {
        let events = vec![
            event(1, 1),
            event(2, 2),
            event(3, 1),
            event(4, 1),
            event(5, 2),
        ];
        let planned = batches(events, 10, 2);
        let shape: Vec<(u128, Vec<i64>)> = planned
            .iter()
            .map(|b| {
                (
                    b.enterprise.as_u128(),
                    b.events.iter().map(|e| e.seq).collect(),
                )
            })
            .collect();
        assert_eq!(shape, vec![(1, vec![1, 3]), (2, vec![2, 5]), (1, vec![4])]);
    }

    #[test]
    fn at_most_the_requested_number_of_deliveries() {
        let events = (0..10).map(|i| event(i, 1)).collect();
        let planned = batches(events, 2, 3);
        assert_eq!(planned.len(), 2);
        assert_eq!(planned[1].events.last().map(|e| e.seq), Some(5));
    }

    #[test]
    fn a_receiver_has_room_up_to_its_limit() {
        let mut busy = HashMap::new();
        let id = Uuid::new_v4();
        assert!(take_room(&mut busy, id, 2));
        assert!(take_room(&mut busy, id, 2));
        assert!(!take_room(&mut busy, id, 2));
    }
}
