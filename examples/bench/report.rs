//! The output. While the runs go, one line per figure and run on standard error; at the end,
//! for each figure, `name value unit` lines on standard output (medians over the runs, their
//! range, the floor's, the ratio) and a summary against the targets on standard error.

use crate::target::Target;

/// One figure over the runs: taskward's value and the floor's from each run.
#[derive(Debug)]
struct Series {
    name: String,
    unit: &'static str,
    target: Target,
    taskward: Vec<f64>,
    /// The floor's value from the same run (none for figures without a floor).
    floor: Vec<Option<f64>>,
}

impl Series {
    /// taskward/floor in each run that has a floor.
    fn ratios(&self) -> Vec<f64> {
        self.taskward
            .iter()
            .zip(&self.floor)
            .filter_map(|(t, f)| f.map(|f| ratio(*t, f)))
            .collect()
    }

    fn floors(&self) -> Vec<f64> {
        self.floor.iter().flatten().copied().collect()
    }
}

/// The median, least and greatest of some values.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spread {
    pub(crate) median: f64,
    pub(crate) min: f64,
    pub(crate) max: f64,
}

impl Spread {
    /// The spread of `values` (`None` without values).
    fn of(values: &[f64]) -> Option<Self> {
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = match n {
            0 => return None,
            _ if n % 2 == 1 => v[n / 2],
            _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        };
        Some(Self {
            median,
            min: v[0],
            max: v[n - 1],
        })
    }

    /// `median (min–max)`, or the median alone from a single run.
    fn show(&self, runs: usize) -> String {
        if runs < 2 {
            fmt(self.median)
        } else {
            format!("{} ({}–{})", fmt(self.median), fmt(self.min), fmt(self.max))
        }
    }
}

/// Every figure measured so far, in the order first measured.
#[derive(Debug, Default)]
pub(crate) struct Report {
    series: Vec<Series>,
    /// The run being measured (1-based), for the progress lines.
    run: usize,
}

impl Report {
    /// Starts run `run` (1-based) of `runs`.
    pub(crate) fn start_run(&mut self, run: usize, runs: usize) {
        self.run = run;
        eprintln!("bench: run {run} of {runs}");
    }

    /// Adds one run's value of a figure, taskward's beside the floor's from the same run.
    pub(crate) fn add(
        &mut self,
        name: impl Into<String>,
        taskward: f64,
        floor: Option<f64>,
        unit: &'static str,
        target: Target,
    ) {
        let name = name.into();
        match floor {
            Some(f) => eprintln!(
                "  run {}: {name} {} (floor {}, {:.2}x) {unit}",
                self.run,
                fmt(taskward),
                fmt(f),
                ratio(taskward, f)
            ),
            None => eprintln!("  run {}: {name} {} {unit}", self.run, fmt(taskward)),
        }
        let i = match self.series.iter().position(|s| s.name == name) {
            Some(i) => i,
            None => {
                self.series.push(Series {
                    name,
                    unit,
                    target,
                    taskward: Vec::new(),
                    floor: Vec::new(),
                });
                self.series.len() - 1
            }
        };
        self.series[i].taskward.push(taskward);
        self.series[i].floor.push(floor);
    }

    /// Prints every figure on standard output: `name`, `name.min`, `name.max` (taskward), the
    /// same with `.floor`, and `name.ratio` (the median of the runs' ratios).
    pub(crate) fn print(&self) {
        for s in &self.series {
            let (name, unit) = (&s.name, s.unit);
            let lines = [
                ("", Spread::of(&s.taskward), unit),
                (".floor", Spread::of(&s.floors()), unit),
            ];
            for (suffix, spread, unit) in lines {
                if let Some(sp) = spread {
                    println!("{name}{suffix} {} {unit}", fmt(sp.median));
                    println!("{name}{suffix}.min {} {unit}", fmt(sp.min));
                    println!("{name}{suffix}.max {} {unit}", fmt(sp.max));
                }
            }
            if let Some(r) = Spread::of(&s.ratios()) {
                println!("{name}.ratio {:.2} x", r.median);
            }
        }
    }

    /// Prints the table of every figure (medians and ranges over the runs), with its target
    /// and whether the medians meet it.
    pub(crate) fn summary(&self, runs: usize) {
        eprintln!();
        eprintln!("medians of {runs} run(s); ranges in parentheses; ratio = taskward/floor");
        eprintln!(
            "{:<36} {:>24} {:>24} {:>6} {:>7} {:>22}  met",
            "figure", "taskward", "floor", "ratio", "unit", "target"
        );
        for s in &self.series {
            let Some(tw) = Spread::of(&s.taskward) else {
                continue;
            };
            let fl = Spread::of(&s.floors());
            let r = Spread::of(&s.ratios()).map(|r| r.median);
            let met = match s.target.met(tw.median, fl.map(|f| f.median), r) {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "-",
            };
            eprintln!(
                "{:<36} {:>24} {:>24} {:>6} {:>7} {:>22}  {met}",
                s.name,
                tw.show(runs),
                fl.map_or("-".into(), |f| f.show(runs)),
                r.map_or("-".into(), |r| format!("{r:.2}")),
                s.unit,
                s.target.to_string(),
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
