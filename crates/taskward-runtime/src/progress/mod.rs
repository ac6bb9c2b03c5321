//! Progress: the cell the work writes, the message update it takes, and the list and timer
//! that have the registry read the cells.

mod cell;
mod flush;
mod message;

pub(crate) use cell::ProgressCell;
pub(crate) use flush::ProgressFlush;
pub use message::ProgressMessage;
