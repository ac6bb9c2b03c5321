//! Showing a status: indicatif bars on a terminal, text lines otherwise.

use std::collections::HashMap;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;

use super::view::{TaskView, live_tasks, registry_text};

/// Where a status is shown, refreshed in place on a terminal.
pub(super) struct Board {
    bars: Option<Bars>,
}

struct Bars {
    multi: MultiProgress,
    header: ProgressBar,
    tasks: HashMap<String, ProgressBar>,
    known: ProgressStyle,
    unknown: ProgressStyle,
}

impl Board {
    /// Bars when stdout is a terminal, text lines otherwise.
    pub(super) fn new(terminal: bool) -> Self {
        Self {
            bars: terminal.then(Bars::new),
        }
    }

    /// Shows one `/status` answer.
    pub(super) fn show(&mut self, status: &Value) {
        let header = registry_text(status);
        let tasks = live_tasks(status);
        match &mut self.bars {
            Some(bars) => bars.show(header, &tasks),
            None => {
                println!("{header}");
                if tasks.is_empty() {
                    println!("  no live tasks");
                }
                for task in &tasks {
                    println!("{}", task.line());
                }
            }
        }
    }

    /// Leaves the last bars on screen.
    pub(super) fn finish(self) {
        if let Some(bars) = self.bars {
            bars.header.abandon();
            for bar in bars.tasks.values() {
                bar.abandon();
            }
        }
    }
}

impl Bars {
    fn new() -> Self {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stdout());
        let header = multi.add(ProgressBar::new(0).with_style(style("{msg}")));
        Self {
            multi,
            header,
            tasks: HashMap::new(),
            known: style("{prefix:<14.bold} [{bar:30.cyan/blue}] {percent:>3}% {wide_msg}")
                .progress_chars("=> "),
            unknown: style("{prefix:<14.bold} {spinner} {pos:>10} {wide_msg}"),
        }
    }

    fn show(&mut self, header: String, tasks: &[TaskView]) {
        let suffix = if tasks.is_empty() {
            "\nno live tasks"
        } else {
            ""
        };
        self.header.set_message(format!("{header}{suffix}"));
        self.tasks.retain(|id, bar| {
            let live = tasks.iter().any(|t| &t.id == id);
            if !live {
                bar.finish_and_clear();
            }
            live
        });
        for task in tasks {
            let bar = self.tasks.entry(task.id.clone()).or_insert_with(|| {
                self.multi
                    .add(ProgressBar::new(0).with_prefix(task.name.clone()))
            });
            match task.total {
                Some(total) => {
                    bar.set_style(self.known.clone());
                    bar.set_length(total);
                }
                None => bar.set_style(self.unknown.clone()),
            }
            bar.set_position(task.done.unwrap_or(0));
            let mut message = task.message.clone();
            if !message.is_empty() {
                message.push(' ');
            }
            bar.set_message(format!(
                "{message}({}, attempt {}) {}",
                task.state, task.attempt, task.id
            ));
            bar.tick();
        }
    }
}

fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}
