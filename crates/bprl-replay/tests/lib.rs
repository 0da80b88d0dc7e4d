//! Integration tests of `bprl-replay`: one binary, one module per topic.

mod adder;
mod common;
mod fuzz;
mod limiter;
mod regressions;
mod snapshot;
mod table;
