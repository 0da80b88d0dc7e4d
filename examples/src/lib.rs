//! The library half of the `bprl` command line: its configuration file ([`experiment`]), so
//! that the fuzz targets and tests load files exactly as `bprl train --config` does; and the
//! statistics of the claims experiment ([`stats`]).

pub mod experiment;
pub mod stats;
