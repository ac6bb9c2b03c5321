//! Each figure of the targets table: taskward's side and the floor's, measured one after the
//! other in this process, reported with the target it is judged against.

use std::time::{Duration, Instant};

use taskward::{ListQuery, Scope, Status};

use crate::report::{Report, fmt};
use crate::timing::time_gets;
use crate::workloads::{retained_terminal, runtime, time_list};
use crate::{Sizes, floor, memory, ward};

/// Runs the figures whose name contains `only` (all without it), then prints the summary.
pub(crate) async fn run(sizes: Sizes, only: Option<String>) {
    let wanted = |name: &str| only.as_deref().is_none_or(|o| name.contains(o));
    let mut report = Report::default();
    if wanted("memory_per_live_task") {
        memory_per_live_task(&mut report, sizes);
    }
    if wanted("submit_to_terminal") {
        submit_to_terminal(&mut report, sizes).await;
    }
    if wanted("submit_p50") {
        submit_p50(&mut report, sizes).await;
    }
    if wanted("create") || wanted("get") || wanted("page") {
        table(&mut report, sizes, &wanted).await;
    }
    if wanted("cancel") {
        cancel(&mut report, sizes).await;
    }
    if wanted("progress") {
        progress(&mut report, sizes).await;
    }
    if wanted("flat") {
        flat(&mut report, sizes).await;
    }
    if wanted("list_") {
        filtered_pages(&mut report, sizes).await;
    }
    report.summary();
}

fn memory_per_live_task(report: &mut Report, sizes: Sizes) {
    let kib = 1024.0;
    let tw = memory::in_child("taskward", sizes.memory);
    let fl = memory::in_child("floor", sizes.memory);
    report.add(
        format!("memory_per_live_task@{}", sizes.memory),
        tw / kib,
        fl / kib,
        "KiB",
        "<= 8 KiB",
        Some(tw / kib <= 8.0),
    );
}

async fn submit_to_terminal(report: &mut Report, sizes: Sizes) {
    let tw = ward::throughput(sizes.throughput, sizes.clients).await;
    let fl = floor::throughput(sizes.throughput, sizes.clients).await;
    report.add(
        "submit_to_terminal",
        tw,
        fl,
        "tasks/s",
        ">= 150000",
        Some(tw >= 150_000.0),
    );
}

async fn submit_p50(report: &mut Report, sizes: Sizes) {
    let tw = ward::submit_latency(sizes.submit_samples).await;
    let fl = floor::submit_latency(sizes.submit_samples).await;
    report.add("submit_p50", tw, fl, "us", "<= 10 us", Some(tw <= 10.0));
}

/// `create`, `get` and `page_of_100` against a table of `sizes.table` tasks.
async fn table(report: &mut Report, sizes: Sizes, wanted: &impl Fn(&str) -> bool) {
    let ward = runtime().await;
    let scope = Scope::session("bench");
    let (create_us, ids) = ward::create_external(&ward, &scope, sizes.table).await;
    let (floor, floor_create_us, floor_ids) = floor::filled(sizes.table);
    if wanted("create") {
        report.add(
            "create",
            create_us,
            floor_create_us,
            "us",
            "<= 3 us",
            Some(create_us <= 3.0),
        );
    }
    if wanted("get") {
        let tw = time_gets(&ids, sizes.gets, |id| ward.get(&scope, *id).is_ok());
        let fl = time_gets(&floor_ids, sizes.gets, |id| floor.get(id).is_some());
        report.add("get", tw, fl, "us", "<= 0.3 us", Some(tw <= 0.3));
    }
    if wanted("page") {
        let tw = ward::time_pages(&ward, &scope, sizes.table);
        let fl = floor::time_pages(&floor, sizes.table);
        report.add(
            format!("page_of_100@{}", sizes.table),
            tw,
            fl,
            "us",
            "<= 50 us",
            Some(tw <= 50.0),
        );
    }
    ward.shutdown(Duration::from_secs(5))
        .await
        .expect("shutdown");
}

async fn cancel(report: &mut Report, sizes: Sizes) {
    let (tw50, tw99) = ward::cancel(sizes.cancels).await;
    let (fl50, fl99) = floor::cancel(sizes.cancels).await;
    report.add(
        "cancel_observed_p50",
        tw50,
        fl50,
        "us",
        "<= 5 us",
        Some(tw50 <= 5.0),
    );
    report.add(
        "cancel_observed_p99",
        tw99,
        fl99,
        "us",
        "<= 30 us",
        Some(tw99 <= 30.0),
    );
}

async fn progress(report: &mut Report, sizes: Sizes) {
    let tw = ward::progress(sizes.progress).await;
    let fl = floor::progress(sizes.progress);
    report.add("progress_call", tw, fl, "ns", "<= 50 ns", Some(tw <= 50.0));
}

/// The same calls against a small and a large table; each figure is the growth, cost at the
/// large table / cost at the small one (1.0 is flat), taskward's next to the floor's. Reads at
/// the large table draw ids from all of it, so cache misses count.
async fn flat(report: &mut Report, sizes: Sizes) {
    let (small, large) = sizes.flat;
    let ward = runtime().await;
    let scope = Scope::session("flat");
    let (_, mut ids) = ward::create_external(&ward, &scope, small).await;
    let get_small = time_gets(&ids, sizes.gets / 4, |id| ward.get(&scope, *id).is_ok());
    let page_small = ward::time_pages(&ward, &scope, small);
    let (create_small, more) = ward::create_external(&ward, &scope, 1_000).await;
    ids.extend(more);
    ids.extend(ward::fill(&ward, &scope, large - small - 2_000, sizes.clients).await);
    let (create_large, more) = ward::create_external(&ward, &scope, 1_000).await;
    ids.extend(more);
    let get_large = time_gets(&ids, sizes.gets / 4, |id| ward.get(&scope, *id).is_ok());
    let page_large = ward::time_pages(&ward, &scope, ids.len());
    // A sweep runs during each status call's wait; the call itself drains and counts.
    let start = Instant::now();
    for _ in 0..10 {
        let _ = ward.status().await;
    }
    let status_large = start.elapsed().as_secs_f64() * 1e6 / 10.0;
    ward.shutdown(Duration::from_secs(10))
        .await
        .expect("shutdown");
    drop(ids);
    let (fc_small, fg_small, fp_small) = floor::at(small + 1_000, sizes.gets / 4);
    let (fc_large, fg_large, fp_large) = floor::at(large, sizes.gets / 4);
    // Flat: it grows no more than twice as much as the floor's map does (whose growth is the
    // memory hierarchy's, not an algorithm's).
    let flat = |growth: f64, floor: f64| Some(growth <= 2.0 * floor.max(1.0));
    let mut growth = |name: &str, tw: (f64, f64), fl: (f64, f64)| {
        let g = tw.1 / tw.0;
        println!("flat.{name}@{small} {} us", fmt(tw.0));
        println!("flat.{name}@{large} {} us", fmt(tw.1));
        report.add(
            format!("flat.{name}@{large}/{small}"),
            g,
            fl.1 / fl.0,
            "x",
            "<= 2x floor's",
            flat(g, fl.1 / fl.0),
        );
    };
    growth("get", (get_small, get_large), (fg_small, fg_large));
    growth("create", (create_small, create_large), (fc_small, fc_large));
    growth(
        "page_of_100",
        (page_small, page_large),
        (fp_small, fp_large),
    );
    println!("flat.status_call@{large} {} us", fmt(status_large));
}

/// The first page of 10 live (`live_only`) and of 10 working (`status=working`) tasks of a
/// scope whose `sizes.flat` terminal tasks (1,000, then 1,000,000) were all created before its
/// 20 live ones, so each page has every terminal task before it; and, for comparison, the
/// first page of 10 unfiltered (10 terminal tasks, merged from the statuses' indexes, as any
/// unfiltered page of a scope with tasks in several statuses is). The floor is the floor's
/// first page of 10 from as many tasks, unfiltered (it has no statuses): a filtered page
/// should cost what an unfiltered one does. Each figure is also judged flat: its growth from
/// the small scope to the large one against the floor's.
async fn filtered_pages(report: &mut Report, sizes: Sizes) {
    let pages = 100_000;
    let queries = [
        ("live_only", ListQuery::new().live_only().limit(10)),
        (
            "working",
            ListQuery::new().status(Status::Working).limit(10),
        ),
        ("unfiltered", ListQuery::new().limit(10)),
    ];
    let (small, large) = sizes.flat;
    // Per size: µs per page of each query, then the floor's.
    let mut at = [[0.0; 4]; 2];
    for (figures, terminal) in at.iter_mut().zip([small, large]) {
        let ward = runtime().await;
        let scope = Scope::session("list");
        retained_terminal(&ward, &scope, terminal, 20, sizes.clients).await;
        let fl = floor::first_pages(terminal + 20, 10, pages);
        for ((name, query), figure) in queries.iter().zip(figures.iter_mut()) {
            let tw = time_list(&ward, &scope, query, 10, pages as u64).as_secs_f64() * 1e6
                / pages as f64;
            report.add(
                format!("list_{name}_10@{terminal}_terminal"),
                tw,
                fl,
                "us",
                "<= 50 us",
                Some(tw <= 50.0),
            );
            *figure = tw;
        }
        figures[3] = fl;
        ward.shutdown(Duration::from_secs(30))
            .await
            .expect("shutdown");
    }
    let [s, l] = at;
    let floor_growth = l[3] / s[3];
    for (i, (name, _)) in queries.iter().enumerate() {
        let growth = l[i] / s[i];
        report.add(
            format!("flat.list_{name}_10@{large}/{small}"),
            growth,
            floor_growth,
            "x",
            "<= 2x floor's",
            Some(growth <= 2.0 * floor_growth.max(1.0)),
        );
    }
}
