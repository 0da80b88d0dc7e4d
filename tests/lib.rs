//! Cross-crate integration tests of the `bprl` facade.

mod eq7_continuous;
mod import_cycles;
