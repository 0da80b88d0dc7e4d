//! Replays the committed fuzz corpus of the configuration loader
//! (`fuzz/corpus/config_toml/`, grown by `make fuzz`) through the same calls as the fuzz
//! target: every input loads or fails with a typed error, and accepted files round-trip.

use bprl_agents::AgentConfig;
use bprl_examples::experiment::Experiment;
use std::path::Path;

#[test]
fn config_corpus_loads_or_fails_typed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/config_toml");
    let mut accepted = 0;
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        seen += 1;
        let data = std::fs::read(entry.path()).unwrap();
        let Ok(text) = std::str::from_utf8(&data) else {
            continue;
        };
        if let Ok(e) = Experiment::from_toml(text) {
            accepted += 1;
            let back = Experiment::from_toml(&e.to_toml())
                .unwrap_or_else(|x| panic!("{}: round trip: {x}", entry.path().display()));
            assert_eq!(back, e, "{}", entry.path().display());
        }
        if let Ok(c) = AgentConfig::from_toml(text) {
            assert_eq!(AgentConfig::from_toml(&c.to_toml()).unwrap(), c);
        }
    }
    assert!(seen >= 5, "corpus at {}", dir.display());
    assert!(accepted >= 2, "the seeds include valid files");
}
