//! `scripts/fig16`: the Raft paper's Figure 16 regenerated on our reference Raft (see
//! `fig16::main`, and the README's "Figure 16" section for running it on your own Raft).

fn main() {
    fig16::main::<raft_reference::Reference>();
}
