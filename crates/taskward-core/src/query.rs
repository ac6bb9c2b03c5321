//! Listing tasks: queries, pages and cursors.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use crate::{Status, TaskRecord};

/// The most tasks one page may hold.
pub const MAX_PAGE_SIZE: usize = 1000;

/// The page size when a query names none.
pub const DEFAULT_PAGE_SIZE: usize = 100;

/// A query for one page of a scope's tasks, oldest first.
///
/// # Examples
///
/// ```
/// use taskward_core::{ListQuery, Status};
///
/// let query = ListQuery::new().status(Status::Working).limit(10);
/// assert_eq!(query.page_size(), 10);
/// assert_eq!(ListQuery::new().limit(1_000_000).page_size(), 1000);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListQuery {
    /// Only tasks in this status.
    pub status: Option<Status>,
    /// Only live (non-terminal) tasks.
    pub live_only: bool,
    /// The page size; capped at [`MAX_PAGE_SIZE`], [`DEFAULT_PAGE_SIZE`] when `None`.
    pub limit: Option<usize>,
    /// Where the previous page ended.
    pub cursor: Option<Cursor>,
}

impl ListQuery {
    /// The first page of all tasks.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only tasks in this status.
    pub fn status(mut self, status: Status) -> Self {
        self.status = Some(status);
        self
    }

    /// Only live tasks.
    pub fn live_only(mut self) -> Self {
        self.live_only = true;
        self
    }

    /// At most this many tasks.
    pub fn limit(mut self, limit: usize) -> Self {
        self.limit = Some(limit);
        self
    }

    /// The page after this cursor.
    pub fn after(mut self, cursor: Cursor) -> Self {
        self.cursor = Some(cursor);
        self
    }

    /// The effective page size.
    pub fn page_size(&self) -> usize {
        self.limit
            .unwrap_or(DEFAULT_PAGE_SIZE)
            .clamp(1, MAX_PAGE_SIZE)
    }

    /// Whether a record passes the filters.
    pub fn matches(&self, record: &TaskRecord) -> bool {
        self.admits(record.status)
    }

    /// Whether a task in this status passes the filters (the filters look at nothing else).
    ///
    /// A store can keep an index per status and read only those a query admits.
    ///
    /// # Examples
    ///
    /// ```
    /// use taskward_core::{ListQuery, Status};
    ///
    /// let live = ListQuery::new().live_only();
    /// assert!(live.admits(Status::InputRequired));
    /// assert!(!live.admits(Status::Completed));
    /// assert!(!live.status(Status::Failed).admits(Status::Failed));
    /// ```
    pub fn admits(&self, status: Status) -> bool {
        self.status.is_none_or(|s| status == s) && (!self.live_only || !status.is_terminal())
    }
}

/// One page of tasks and the cursor of the next, if there is one.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Page {
    /// The tasks, oldest first.
    pub tasks: Vec<Arc<TaskRecord>>,
    /// Pass this to get the next page; `None` on the last.
    pub next_cursor: Option<Cursor>,
}

impl Page {
    /// A page.
    pub fn new(tasks: Vec<Arc<TaskRecord>>, next_cursor: Option<Cursor>) -> Self {
        Self { tasks, next_cursor }
    }
}

/// An opaque position in a scope's task list.
///
/// Cursors stay valid while tasks are added and removed: a page starts after the position,
/// whatever was removed before it. A string that is not a cursor fails to parse with
/// [`InvalidCursor`].
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cursor(u64);

const CURSOR_PREFIX: &str = "twc1.";

impl Cursor {
    /// The cursor just after the task with this creation sequence number.
    pub const fn after_seq(seq: u64) -> Self {
        Self(seq)
    }

    /// The creation sequence number the cursor follows.
    pub const fn seq(&self) -> u64 {
        self.0
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{CURSOR_PREFIX}{:x}", self.0)
    }
}

impl fmt::Debug for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cursor({self})")
    }
}

/// The error for a string that is not a cursor this runtime issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidCursor;

impl fmt::Display for InvalidCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid cursor")
    }
}

impl std::error::Error for InvalidCursor {}

impl FromStr for Cursor {
    type Err = InvalidCursor;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hex = s.strip_prefix(CURSOR_PREFIX).ok_or(InvalidCursor)?;
        if hex.is_empty() || hex.len() > 16 {
            return Err(InvalidCursor);
        }
        u64::from_str_radix(hex, 16)
            .map(Cursor)
            .map_err(|_| InvalidCursor)
    }
}
