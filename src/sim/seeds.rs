//! Running one scenario over many seeds, naming the seed that fails.

use std::ops::Range;

/// Runs `scenario` for every seed in `seeds`, or only for the seed in the environment
/// variable `POLITY_SIM_SEED` when it is set. The first failure panics with the seed and
/// how to replay it.
pub fn for_each_seed(name: &str, seeds: Range<u64>, scenario: impl Fn(u64) -> Result<(), String>) {
    let seeds: Vec<u64> = match std::env::var("POLITY_SIM_SEED") {
        Ok(one) => match one.parse() {
            Ok(seed) => vec![seed],
            Err(_) => panic!("POLITY_SIM_SEED={one:?} is not a number"),
        },
        Err(_) => seeds.collect(),
    };
    for seed in seeds {
        if let Err(failure) = scenario(seed) {
            panic!(
                "{name}: seed {seed} failed: {failure}\n\
                 replay it with: POLITY_SIM_SEED={seed} cargo test --all-features {name}"
            );
        }
    }
}
