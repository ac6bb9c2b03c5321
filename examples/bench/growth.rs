//! The figures of growth: the same calls against a small and a large table, taskward's
//! growth beside the floor's, and the filtered list pages.

use std::time::{Duration, Instant};

use taskward::{ListQuery, Scope, Status};

use crate::figures::Ctx;
use crate::report::Report;
use crate::target::Target;
use crate::timing::time_gets;
use crate::workloads::{retained_terminal, runtime, time_list};
use crate::{floor, ward};

/// Flat: it grows no more than twice as much as the floor's map does (whose growth is the
/// memory hierarchy's, not an algorithm's).
const FLAT: Target = Target::FloorGrowth(2.0);

/// The same calls against a small and a large table; each figure is the growth, cost at the
/// large table / cost at the small one (1.0 is flat), taskward's next to the floor's. Reads at
/// the large table draw ids from all of it, so cache misses count.
pub(crate) fn flat(ctx: &Ctx<'_>, report: &mut Report) {
    let (small, large) = ctx.sizes.flat;
    let (gets, clients) = (ctx.sizes.gets / 4, ctx.sizes.clients);
    // taskward: [create, get, page] at the small and at the large table, and a status call.
    let (tw_small, tw_large, status_large) = ctx.drive(async move {
        let ward = runtime().await;
        let scope = Scope::session("flat");
        let (_, mut ids) = ward::create_external(&ward, &scope, small).await;
        let get_small = time_gets(&ids, gets, |id| ward.get(&scope, *id).is_ok());
        let page_small = ward::time_pages(&ward, &scope, small);
        let (create_small, more) = ward::create_external(&ward, &scope, 1_000).await;
        ids.extend(more);
        ids.extend(ward::fill(&ward, &scope, large - small - 2_000, clients).await);
        let (create_large, more) = ward::create_external(&ward, &scope, 1_000).await;
        ids.extend(more);
        let get_large = time_gets(&ids, gets, |id| ward.get(&scope, *id).is_ok());
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
        (
            [create_small, get_small, page_small],
            [create_large, get_large, page_large],
            status_large,
        )
    });
    let fl_small = ctx.drive(async move { floor::at(small + 1_000, gets) });
    let fl_large = ctx.drive(async move { floor::at(large, gets) });
    for (i, name) in ["create", "get", "page_of_100"].into_iter().enumerate() {
        let (tw, fl) = ((tw_small[i], tw_large[i]), (fl_small[i], fl_large[i]));
        report.add(
            format!("flat.{name}@{small}"),
            tw.0,
            Some(fl.0),
            "us",
            Target::None,
        );
        report.add(
            format!("flat.{name}@{large}"),
            tw.1,
            Some(fl.1),
            "us",
            Target::None,
        );
        let growth = (tw.1 / tw.0, fl.1 / fl.0);
        let name = format!("flat.{name}@{large}/{small}");
        report.add(name, growth.0, Some(growth.1), "x", FLAT);
    }
    let name = format!("flat.status_call@{large}");
    report.add(name, status_large, None, "us", Target::None);
}

/// The first page of 10 live (`live_only`) and of 10 working (`status=working`) tasks of a
/// scope whose `sizes.flat` terminal tasks (1,000, then 1,000,000) were all created before its
/// 20 live ones, so each page has every terminal task before it; and, for comparison, the
/// first page of 10 unfiltered (10 terminal tasks, merged from the statuses' indexes, as any
/// unfiltered page of a scope with tasks in several statuses is). The floor is the floor's
/// first page of 10 from as many tasks, unfiltered (it has no statuses): a filtered page
/// should cost what an unfiltered one does. Each figure is also judged flat: its growth from
/// the small scope to the large one against the floor's.
pub(crate) fn filtered_pages(ctx: &Ctx<'_>, report: &mut Report) {
    const PAGES: usize = 100_000;
    const NAMES: [&str; 3] = ["live_only", "working", "unfiltered"];
    let (small, large) = ctx.sizes.flat;
    let clients = ctx.sizes.clients;
    // Per size: µs per page of each query, then the floor's.
    let mut at = [[0.0; 4]; 2];
    for (figures, terminal) in at.iter_mut().zip([small, large]) {
        let tw = ctx.drive(async move {
            let queries = [
                ListQuery::new().live_only().limit(10),
                ListQuery::new().status(Status::Working).limit(10),
                ListQuery::new().limit(10),
            ];
            let ward = runtime().await;
            let scope = Scope::session("list");
            retained_terminal(&ward, &scope, terminal, 20, clients).await;
            let per_page = queries.map(|query| {
                time_list(&ward, &scope, &query, 10, PAGES as u64).as_secs_f64() * 1e6
                    / PAGES as f64
            });
            ward.shutdown(Duration::from_secs(30))
                .await
                .expect("shutdown");
            per_page
        });
        let fl = ctx.drive(async move { floor::first_pages(terminal + 20, 10, PAGES) });
        for (i, name) in NAMES.iter().enumerate() {
            let name = format!("list_{name}_10@{terminal}_terminal");
            report.add(name, tw[i], Some(fl), "us", Target::AtMost(50.0));
            figures[i] = tw[i];
        }
        figures[3] = fl;
    }
    let [s, l] = at;
    let floor_growth = l[3] / s[3];
    for (i, name) in NAMES.iter().enumerate() {
        let name = format!("flat.list_{name}_10@{large}/{small}");
        report.add(name, l[i] / s[i], Some(floor_growth), "x", FLAT);
    }
}
