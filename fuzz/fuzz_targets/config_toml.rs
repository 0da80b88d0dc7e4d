//! The TOML configuration loader of `bprl train --config` (agent sections and `[env]`): any
//! text is parsed (strict keys, presets, bounds) into a configuration or a typed error, never
//! a panic; what is accepted round-trips.
#![no_main]

use bprl_agents::AgentConfig;
use bprl_examples::experiment::Experiment;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(e) = Experiment::from_toml(text) {
        let back = Experiment::from_toml(&e.to_toml()).expect("an accepted file round-trips");
        assert_eq!(back, e);
    }
    if let Ok(c) = AgentConfig::from_toml(text) {
        let back = AgentConfig::from_toml(&c.to_toml()).expect("an accepted config round-trips");
        assert_eq!(back, c);
    }
});
