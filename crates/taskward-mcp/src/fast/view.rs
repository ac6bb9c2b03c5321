//! The hot path's answers as typed structs: the JSON-RPC success envelope and the `Task`
//! of either generation. Members are in the order the general path's JSON objects (sorted
//! maps) write them.

use std::fmt::Display;

use serde::{Serialize, Serializer};
use serde_json::Value;
use taskward_core::{TaskId, TaskRecord};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::jsonrpc::RequestId;
use crate::wire::cached_meta;

/// `{"id", "jsonrpc": "2.0", "result"}`.
#[derive(Serialize)]
pub(super) struct Success<'a, R> {
    pub(super) id: &'a RequestId,
    pub(super) jsonrpc: &'static str,
    pub(super) result: R,
}

/// A value written with its `Display`, as a JSON string.
pub(super) struct Shown<T>(pub(super) T);

impl<T: Display> Serialize for Shown<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

/// A timestamp in RFC 3339, written without an intermediate `String` (empty when it
/// cannot be formatted, as [`task_json`](crate::wire::task_json) writes it).
pub(super) struct Stamp(OffsetDateTime);

impl Serialize for Stamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut buf = [0u8; 64];
        let mut rest: &mut [u8] = &mut buf;
        let written = self.0.format_into(&mut rest, &Rfc3339).unwrap_or(0);
        serializer.serialize_str(std::str::from_utf8(&buf[..written]).unwrap_or(""))
    }
}

/// The 2025-11-25 `Task` ([`task_json`](crate::wire::task_json)).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Task<'a> {
    #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
    meta: Option<Value>,
    created_at: Stamp,
    last_updated_at: Stamp,
    poll_interval: u64,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_message: Option<std::borrow::Cow<'a, str>>,
    task_id: Shown<TaskId>,
    ttl: Option<u64>,
}

impl<'a> Task<'a> {
    pub(super) fn new(record: &'a TaskRecord, poll_interval_ms: u64) -> Self {
        Self {
            meta: cached_meta(record),
            created_at: Stamp(record.created_at),
            last_updated_at: Stamp(record.last_updated_at),
            poll_interval: poll_interval_ms,
            status: record.status.as_str(),
            status_message: record.status_text(),
            task_id: Shown(record.id),
            ttl: ttl_ms(record),
        }
    }
}

/// `{"task": Task}`, the 2025-11-25 `CreateTaskResult`.
#[derive(Serialize)]
pub(super) struct Created<'a> {
    pub(super) task: Task<'a>,
}

/// The 2026-07-28 `Task` with its `resultType` (`task` when created, `complete` when read)
/// and, for a completed task, its `result`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ModernTask<'a> {
    #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
    meta: Option<Value>,
    created_at: Stamp,
    last_updated_at: Stamp,
    poll_interval_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<&'a Value>,
    result_type: &'static str,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_message: Option<std::borrow::Cow<'a, str>>,
    task_id: Shown<TaskId>,
    ttl_ms: Option<u64>,
}

impl<'a> ModernTask<'a> {
    pub(super) fn new(
        record: &'a TaskRecord,
        poll_interval_ms: u64,
        result_type: &'static str,
        result: Option<&'a Value>,
    ) -> Self {
        Self {
            meta: cached_meta(record),
            created_at: Stamp(record.created_at),
            last_updated_at: Stamp(record.last_updated_at),
            poll_interval_ms,
            result,
            result_type,
            status: record.status.as_str(),
            status_message: record.status_text(),
            task_id: Shown(record.id),
            ttl_ms: ttl_ms(record),
        }
    }
}

fn ttl_ms(record: &TaskRecord) -> Option<u64> {
    record
        .ttl
        .map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX))
}
