//! Memory per live task, measured in child processes: this binary, re-run with
//! `--memory-child <taskward|floor> <n>`, so that one workload's freed memory cannot hide
//! another's.

use std::process::Command;

use tokio::runtime::Runtime;

use crate::{floor, workloads};

/// The flag that turns this binary into a memory-measuring child.
pub(crate) const CHILD_FLAG: &str = "--memory-child";

/// In the child: prints the bytes of RSS per live task with `n` live tasks on `which` side
/// (`taskward`, or else the floor), then exits. The workload runs as a task on the runtime's
/// workers, as every other workload does.
pub(crate) fn child(rt: &Runtime, which: &str, n: usize) -> ! {
    let bytes = match which {
        "taskward" => rt.block_on(rt.spawn(workloads::live_task_bytes(n))),
        _ => rt.block_on(rt.spawn(floor::live_task_bytes(n))),
    }
    .expect("the memory workload");
    println!("{bytes}");
    // Exit at once: tearing down 100,000 live tasks is not part of the figure.
    std::process::exit(0);
}

/// Bytes of RSS per live task with `n` live tasks on `which` side, from a child process.
pub(crate) fn in_child(which: &str, n: usize) -> f64 {
    let exe = std::env::current_exe().expect("current exe");
    workloads::bytes_from_child(Command::new(exe).args([CHILD_FLAG, which, &n.to_string()]))
}
