//! Integration tests of `bprl-retrace`: one binary, one module per topic.

mod common;
mod errors;
mod family;
mod fuzz;
mod mdp;
mod properties;
mod reference;
mod transforms;
