//! Reading a subscription to its end in tests.

use std::time::Duration;

use taskward::{Event, EventKind, Subscription, TaskEvent, TaskId};

/// The events received until none arrives for a (virtual) second; panics on lag.
pub async fn all_events(sub: &mut Subscription) -> Vec<TaskEvent> {
    let mut events = Vec::new();
    while let Ok(Some(event)) = tokio::time::timeout(Duration::from_secs(1), sub.recv()).await {
        match event {
            Event::Task(e) => events.push(e),
            Event::Lagged(n) => panic!("subscriber lagged by {n}"),
            other => panic!("unexpected {other:?}"),
        }
    }
    events
}

/// The events of one task until none arrives for a (virtual) second; panics on lag.
pub async fn events_of(sub: &mut Subscription, id: TaskId) -> Vec<EventKind> {
    all_events(sub)
        .await
        .into_iter()
        .filter(|e| e.task_id == id)
        .map(|e| e.kind)
        .collect()
}
