//! `subscriptions/listen` with `notifications.taskIds`: `notifications/tasks` on the
//! request's own stream.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Map, Value, json};
use taskward_core::{Event, Status, TaskId};
use taskward_runtime::{ElsewhereStatuses, EventFilter};

use super::Ctx;
use super::detail;
use super::negotiate::missing_tasks;
use crate::jsonrpc::{self, ErrorObject, notification};
use crate::wire::SUBSCRIPTION_ID;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Filter {
    #[serde(default)]
    task_ids: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct ListenParams {
    #[serde(default)]
    notifications: Filter,
}

/// Acknowledges the subscription (`notifications/subscriptions/acknowledged`), then sends
/// `notifications/tasks` (the `DetailedTask`, tagged with the subscription id) each time one
/// of the listed tasks changes status (on a node of several, wherever it runs), starting with each one's state as of the subscription
/// (unknown ids are skipped). The subscription ends, answered `{"resultType": "complete"}`, when every listed task
/// has ended or when the stream is gone.
pub(crate) async fn listen(ctx: &Ctx<'_>, params: Option<&Value>) -> Result<Value, ErrorObject> {
    let listen: ListenParams = jsonrpc::params(params)?;
    let task_ids = listen.notifications.task_ids.unwrap_or_default();
    if !task_ids.is_empty() && !ctx.tasks {
        return Err(missing_tasks(
            "subscriptions/listen with notifications.taskIds needs the tasks extension",
        ));
    }
    let meta = json!({ SUBSCRIPTION_ID: ctx.id });
    let ward = ctx.server.ward();
    let scope = &ctx.tasks_scope;
    // Subscribed before the first read, so that no change is missed.
    let mut events = ward.subscribe(EventFilter::all().scope(scope.clone()).without_progress());
    // On a node of several: the status changes of the scope's tasks other nodes hold.
    let mut elsewhere = ward.watch_elsewhere(scope);
    let _ = ctx.sink.send(notification(
        "notifications/subscriptions/acknowledged",
        json!({ "_meta": meta, "notifications": { "taskIds": task_ids } }),
    ));
    let mut watched: HashMap<TaskId, Status> = HashMap::new();
    for id in task_ids.iter().filter_map(|t| t.parse::<TaskId>().ok()) {
        let Ok(record) = ward.find(scope, id).await else {
            continue;
        };
        // The state as of the subscription first, so that no change is missed.
        send(ctx, &meta, &record).await;
        if !record.is_terminal() {
            watched.insert(id, record.status);
        }
    }
    while !watched.is_empty() {
        let ids: Vec<TaskId> = tokio::select! {
            event = events.recv() => match event {
                None => break,
                Some(Event::Task(event)) if watched.contains_key(&event.task_id) => {
                    vec![event.task_id]
                }
                Some(Event::Lagged(_)) => watched.keys().copied().collect(),
                Some(_) => continue,
            },
            Some(id) = next_elsewhere(&mut elsewhere) => {
                if !watched.contains_key(&id) {
                    continue;
                }
                vec![id]
            }
            () = ctx.sink.closed() => break,
        };
        for id in ids {
            let Ok(record) = ward.find(scope, id).await else {
                watched.remove(&id);
                continue;
            };
            if watched.get(&id) != Some(&record.status) {
                send(ctx, &meta, &record).await;
                watched.insert(id, record.status);
            }
            if record.is_terminal() {
                watched.remove(&id);
            }
        }
    }
    Ok(json!({ "resultType": "complete", "_meta": meta }))
}

/// The next task whose status another node changed; never, on a single node.
async fn next_elsewhere(elsewhere: &mut Option<ElsewhereStatuses>) -> Option<TaskId> {
    match elsewhere {
        Some(statuses) => statuses.recv().await,
        None => std::future::pending().await,
    }
}

async fn send(ctx: &Ctx<'_>, meta: &Value, record: &taskward_core::TaskRecord) {
    let mut params: Map<String, Value> =
        detail::detailed_anywhere(ctx.server, &ctx.tasks_scope, record).await;
    params.insert("_meta".into(), meta.clone());
    let _ = ctx
        .sink
        .send(notification("notifications/tasks", Value::Object(params)));
}
