//! What a progress report does to the task's progress message.

/// What a progress report does to the task's progress message: keep it, replace it, or clear
/// it.
///
/// [`TaskContext::progress`](crate::TaskContext::progress) and
/// [`Taskward::external_progress`](crate::Taskward::external_progress) take
/// `impl Into<ProgressMessage>`, so a `&str` sets the message, `None` keeps the last one (a hot
/// loop can report numbers without repeating its text), and `ProgressMessage::Clear` removes
/// it. The message is latest-wins like the numbers.
///
/// # Examples
///
/// ```
/// use taskward_runtime::{ProgressMessage, TaskContext};
///
/// fn report(ctx: &TaskContext, i: u64, n: u64) {
///     if i == 0 {
///         ctx.progress(i, Some(n), "downloading"); // sets the message
///     } else if i < n {
///         ctx.progress(i, Some(n), None); // keeps "downloading"
///     } else {
///         ctx.progress(i, Some(n), ProgressMessage::Clear); // no message any more
///     }
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ProgressMessage<'a> {
    /// Keep the message last reported (or none, if none was). What `None` converts to.
    #[default]
    Keep,
    /// Replace the message. What a `&str` or `Some(&str)` converts to.
    Set(&'a str),
    /// Remove the message.
    Clear,
}

impl<'a> From<&'a str> for ProgressMessage<'a> {
    fn from(message: &'a str) -> Self {
        Self::Set(message)
    }
}

impl<'a> From<&'a String> for ProgressMessage<'a> {
    fn from(message: &'a String) -> Self {
        Self::Set(message)
    }
}

impl<'a> From<Option<&'a str>> for ProgressMessage<'a> {
    fn from(message: Option<&'a str>) -> Self {
        message.map_or(Self::Keep, Self::Set)
    }
}
