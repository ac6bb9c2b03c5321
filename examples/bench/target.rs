//! The targets the figures are judged against (issue 9's targets table; for the figures it
//! does not name, the earlier ones of DESIGN.md). Each is judged on the medians over the runs.

use std::fmt;

/// A figure's goal.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Target {
    /// At most this much (times, bytes).
    AtMost(f64),
    /// At least this much (throughputs judged alone).
    AtLeast(f64),
    /// At least this much and at least this share of the floor's (throughputs): the median
    /// figure and the median of the runs' ratios.
    AtLeastAndOfFloor(f64, f64),
    /// Grows no more than this many times the floor's growth (the "flat" figures: taskward's
    /// cost at the large table over the small one, next to the floor's).
    FloorGrowth(f64),
    /// No goal: printed for the record.
    None,
}

impl Target {
    /// Whether the medians meet the goal (`None` for a figure without a goal).
    pub(crate) fn met(self, taskward: f64, floor: Option<f64>, ratio: Option<f64>) -> Option<bool> {
        match self {
            Target::AtMost(max) => Some(taskward <= max),
            Target::AtLeast(min) => Some(taskward >= min),
            Target::AtLeastAndOfFloor(min, share) => {
                Some(taskward >= min && ratio.is_some_and(|r| r >= share))
            }
            Target::FloorGrowth(k) => floor.map(|f| taskward <= k * f.max(1.0)),
            Target::None => None,
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::AtMost(max) => write!(f, "<= {}", crate::report::fmt(*max)),
            Target::AtLeast(min) => write!(f, ">= {}", crate::report::fmt(*min)),
            Target::AtLeastAndOfFloor(min, share) => {
                write!(f, ">= {}, {share}x floor", crate::report::fmt(*min))
            }
            Target::FloorGrowth(k) => write!(f, "<= {k}x floor's"),
            Target::None => write!(f, "-"),
        }
    }
}
