//! Printing: the median of each figure over the runs, as `name value unit` lines.

use super::load::Figures;

/// Prints the medians of `runs` under `name` (for example `http.2025-11-25.c20`).
pub(super) fn print(name: &str, clients: usize, runs: &[Figures]) {
    let figure = |pick: fn(&Figures) -> f64| median(runs.iter().map(pick).collect());
    println!("{name}.clients {clients} clients");
    println!(
        "{name}.tasks_per_s {:.0} tasks/s",
        figure(|f| f.tasks_per_second)
    );
    println!("{name}.get_p50 {:.1} us", figure(|f| f.get_p50_us));
    println!("{name}.get_p99 {:.1} us", figure(|f| f.get_p99_us));
    println!(
        "{name}.server_cpu_per_task {:.1} us",
        figure(|f| f.cpu_per_task_us)
    );
    println!(
        "{name}.gets_per_task {:.2} requests",
        figure(|f| f.gets_per_task)
    );
    // The load generator's share of the same cores, for context.
    println!(
        "{name}.client_cpu_per_task {:.1} us",
        figure(|f| f.client_cpu_per_task_us)
    );
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}
