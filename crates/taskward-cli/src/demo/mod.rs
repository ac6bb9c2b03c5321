//! The demo tools `taskward serve` offers: each shows one way a task behaves.
//!
//! | tool | task support | what it shows |
//! |---|---|---|
//! | `sleep {seconds}` | optional | progress each second, cooperative cancel |
//! | `count_primes {limit}` | optional | CPU-bound work in chunks, progress, cancel between chunks |
//! | `fail {message}` | optional | a tool error (`isError: true`) fails the task |
//! | `crash {}` | optional | a panic in the work fails the task |
//! | `echo {text}` | forbidden | a plain tool; a task-augmented call gets `-32601` |
//! | `ask_name {}` | required | asks for a name by form elicitation (`input_required`), greets |

mod ask_name;
mod crash;
mod echo;
mod fail;
mod primes;
mod sieve;
mod sleep;

use taskward_mcp::Tool;

/// All the demo tools.
pub(crate) fn tools() -> Vec<Tool> {
    vec![
        sleep::tool(),
        primes::tool(),
        fail::tool(),
        crash::tool(),
        echo::tool(),
        ask_name::tool(),
    ]
}

#[cfg(test)]
mod tests {
    use taskward_mcp::wire::TaskSupport;

    use super::tools;

    #[test]
    fn names_and_task_support() {
        let tools = tools();
        let seen: Vec<(&str, TaskSupport)> = tools
            .iter()
            .map(|t| (t.name(), t.info().execution.task_support))
            .collect();
        assert_eq!(
            seen,
            [
                ("sleep", TaskSupport::Optional),
                ("count_primes", TaskSupport::Optional),
                ("fail", TaskSupport::Optional),
                ("crash", TaskSupport::Optional),
                ("echo", TaskSupport::Forbidden),
                ("ask_name", TaskSupport::Required),
            ]
        );
        for tool in &tools {
            assert_eq!(
                tool.info().input_schema["type"],
                "object",
                "{}",
                tool.name()
            );
        }
    }
}
