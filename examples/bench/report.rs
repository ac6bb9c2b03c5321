//! The output: `name value unit` lines on standard output as each figure is measured, and a
//! summary against the targets on standard error at the end.

/// One figure: taskward's value, the floor's, the unit and the goal.
#[derive(Debug)]
struct Figure {
    name: String,
    taskward: f64,
    floor: f64,
    unit: &'static str,
    target: &'static str,
    met: Option<bool>,
}

/// The figures measured so far.
#[derive(Debug, Default)]
pub(crate) struct Report {
    figures: Vec<Figure>,
}

impl Report {
    /// Prints a figure (taskward's value, the floor's, the ratio) and keeps it for the summary.
    pub(crate) fn add(
        &mut self,
        name: impl Into<String>,
        taskward: f64,
        floor: f64,
        unit: &'static str,
        target: &'static str,
        met: Option<bool>,
    ) {
        let name = name.into();
        let ratio = ratio(taskward, floor);
        println!("{name} {} {unit}", fmt(taskward));
        println!("{name}.floor {} {unit}", fmt(floor));
        println!("{name}.ratio {ratio:.2} x");
        self.figures.push(Figure {
            name,
            taskward,
            floor,
            unit,
            target,
            met,
        });
    }

    /// Prints the table of every figure, with its target and whether it is met.
    pub(crate) fn summary(&self) {
        eprintln!();
        eprintln!(
            "{:<38} {:>14} {:>14} {:>8} {:>10} {:>14}  met",
            "figure", "taskward", "floor", "ratio", "unit", "target"
        );
        for f in &self.figures {
            let met = match f.met {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "-",
            };
            eprintln!(
                "{:<38} {:>14} {:>14} {:>8.2} {:>10} {:>14}  {met}",
                f.name,
                fmt(f.taskward),
                fmt(f.floor),
                ratio(f.taskward, f.floor),
                f.unit,
                f.target
            );
        }
    }
}

/// taskward's figure over the floor's (0 without a floor).
fn ratio(taskward: f64, floor: f64) -> f64 {
    if floor > 0.0 { taskward / floor } else { 0.0 }
}

/// A figure with the digits that matter: none from 100, two from 1, three below.
pub(crate) fn fmt(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}
