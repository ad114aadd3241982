//! The debug log a student reads (`scripts/replay`, the hunt's saved logs): lines logged from
//! `RaftNode::new` carry the booting node, and the tester's actions (boot, crash, restart,
//! connect, disconnect, start, snapshot) appear in it, in order with the nodes' lines.

use std::io::Write;
use std::sync::{Arc, Mutex};

use raft::{Context, Init, RaftNode};
use raft_reference::Reference;
use scripts::logging::{Capture, init_capture};
use tester::controls::{Broken, Bug};
use tester::{RunOptions, registry, run_case};

/// Logs one line from `RaftNode::new` (the wrapper's `new` runs the bug's `booted`).
struct LogsAtBoot;

impl<R: RaftNode> Bug<R> for LogsAtBoot {
    fn new(_init: &Init) -> Self {
        LogsAtBoot
    }

    fn booted(&mut self, _ctx: &mut Context<'_, R::Request>) {
        log::debug!(target: "boot", "hello from new");
    }
}

/// A writer into shared memory, for [`Capture`].
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The debug log of `test` on `seed` over `R`, one string per line.
fn debug_log<R: RaftNode>(test: &str, seed: u64) -> Vec<String> {
    init_capture();
    let sink = Shared::default();
    {
        let _capture = Capture::start(Box::new(sink.clone()));
        let case = registry::find::<R>(test).unwrap();
        assert!(run_case(&case, seed, RunOptions::default()).passed());
    }
    let bytes = sink.0.lock().unwrap().clone();
    String::from_utf8(bytes)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The index of the first line at or after `from` that contains `text`.
fn find(lines: &[String], from: usize, text: &str) -> usize {
    let found = lines[from..].iter().position(|line| line.contains(text));
    from + found.unwrap_or_else(|| panic!("no {text:?} after line {from}:\n{}", lines.join("\n")))
}

#[test]
fn new_logs_as_its_node_and_tester_actions_are_in_order_with_node_lines() {
    let lines = debug_log::<Broken<Reference, LogsAtBoot>>("persist1_2c", 1);
    let boots: Vec<&String> = lines.iter().filter(|l| l.contains("boot: hello")).collect();
    assert!(boots.len() >= 3, "{lines:#?}");
    for line in &boots {
        assert!(
            !line.contains(" -- "),
            "a line from new without its node: {line}"
        );
    }
    // Virtual time, node, level, target, message; the boot of S0 right after the tester's.
    let boot = find(&lines, 0, "tester: boot S0 from 0 B of raft state");
    assert_eq!(
        lines[boot + 1],
        "    0.000000s S0  DEBUG boot: hello from new"
    );
    // The tester's actions, between the nodes' lines, in virtual-time order.
    let leads = find(&lines, 0, "S1  DEBUG role: 1 leads term 1");
    let start = find(&lines, leads, "tester: start(11) on S1 -> index 1 term 1");
    let crash = find(&lines, start, "--  INFO  tester: crash S0");
    let restart = find(&lines, crash, "tester: restart S0 from 10 B of raft state");
    assert_eq!(lines[restart - 1], lines[crash]);
    assert!(lines[restart + 1].ends_with("S0  DEBUG boot: hello from new"));
    find(&lines, restart, "tester: connect S0");
}

#[test]
fn the_tester_logs_the_snapshots_it_hands_to_nodes() {
    let lines = debug_log::<Reference>("snapshot_basic_2d", 1);
    let snapshot = find(&lines, 0, "tester: snapshot(index 9, ");
    assert!(lines[snapshot].contains(" -- "), "{}", lines[snapshot]);
    find(&lines, snapshot, "tester: start(");
}
