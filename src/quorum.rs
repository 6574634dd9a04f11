//! Quorum functions: how many votes an election needs.
//!
//! A [`QuorumFunc`] maps the size of the electorate to the number of votes a
//! candidate must collect to win. [`Majority`] (more than half) is the
//! default; [`QuorumPercentage`] and [`SimpleMajority`] allow a different
//! fraction and a minimum, and a plain `fn(usize) -> usize` can be used too.
//!
//! A quorum function is only safe if it always requires more than half of
//! the population: otherwise two disjoint groups of peers could each gather
//! enough votes and elect two holders of the same role. [`check_quorum`]
//! tests a function for this before it is used.

use serde::{Deserialize, Serialize};

/// Maps the population of an electorate to the number of votes needed to win
/// an election in it.
///
/// `population` is the number of distinct voters counted, at least `1`.
///
/// For every population `n` the result must be greater than `n / 2`, or two
/// disjoint groups could each reach a quorum and both elect (split brain);
/// [`check_quorum`] verifies this. Returning more than `n` is allowed: an
/// election then cannot succeed and fails reporting how many votes it had
/// and how many it needed.
pub trait QuorumFunc: std::fmt::Debug + Send + Sync + 'static {
    /// Returns the number of votes needed to win among `population` voters.
    fn votes_required(&self, population: usize) -> usize;
}

/// Strict majority: `population / 2 + 1` votes, using integer division.
///
/// This is the default quorum. It needs 1 vote of 1, 2 of 2, 2 of 3, 3 of 4,
/// 3 of 5 and 4 of 6.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Majority;

impl QuorumFunc for Majority {
    fn votes_required(&self, population: usize) -> usize {
        population / 2 + 1
    }
}

/// A fraction of the population plus one, with a lower bound.
///
/// Requires `max(floor(population * fraction) + 1, min_votes)` votes.
///
/// `fraction` should be at least `0.5` for the function to be safe (see
/// [`check_quorum`]). A NaN or negative `fraction` is treated as `0.0`, which
/// [`check_quorum`] reports as unsafe. Very large results saturate at
/// `usize::MAX`.
///
/// `min_votes` keeps small electorates from electing with too few votes;
/// with `min_votes` greater than the population no election can succeed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct QuorumPercentage {
    /// Fraction of the population whose votes, plus one, are needed; `0.5`
    /// means more than half.
    pub fraction: f64,
    /// The fewest votes required, whatever the population.
    pub min_votes: usize,
}

impl QuorumPercentage {
    /// Creates a quorum needing `floor(population * fraction) + 1` votes,
    /// and never fewer than `min_votes`.
    pub const fn new(fraction: f64, min_votes: usize) -> Self {
        QuorumPercentage {
            fraction,
            min_votes,
        }
    }
}

impl QuorumFunc for QuorumPercentage {
    fn votes_required(&self, population: usize) -> usize {
        let fraction = if self.fraction.is_nan() || self.fraction < 0.0 {
            0.0
        } else {
            self.fraction
        };
        let scaled = (population as f64 * fraction).floor();
        // `0 * inf` is NaN; treat it as no votes from the fraction.
        let base = if scaled.is_nan() { 0 } else { scaled as usize };
        base.saturating_add(1).max(self.min_votes)
    }
}

/// Half the population plus one, and never fewer than 3 votes.
///
/// The same as `QuorumPercentage::new(0.5, 3)`: it needs 3 votes for up to 5
/// voters, 4 of 6 or 7, and 6 of 10. With fewer than 3 voters no election can
/// succeed.
#[allow(non_upper_case_globals)]
pub const SimpleMajority: QuorumPercentage = QuorumPercentage::new(0.5, 3);

/// A plain function can serve as a quorum function, e.g.
/// `(|n| n / 2 + 1) as fn(usize) -> usize`.
impl QuorumFunc for fn(usize) -> usize {
    fn votes_required(&self, population: usize) -> usize {
        self(population)
    }
}

/// The largest population [`check_quorum`] tests: populations `1` through
/// this value are checked.
pub const MAX_CHECKED_POPULATION: usize = 10_000;

/// Checks that `q` requires more than half of the population for every
/// population from `1` to [`MAX_CHECKED_POPULATION`].
///
/// Returns the first population `n` at which `q.votes_required(n) <= n / 2`
/// (integer division) as an [`UnsafeQuorum`] error. Requiring more votes than
/// the population is not an error.
pub fn check_quorum(q: &dyn QuorumFunc) -> Result<(), UnsafeQuorum> {
    for population in 1..=MAX_CHECKED_POPULATION {
        let required = q.votes_required(population);
        if required <= population / 2 {
            return Err(UnsafeQuorum {
                population,
                required,
            });
        }
    }
    Ok(())
}

/// A quorum function requires too few votes for some population.
///
/// With only `required` votes of `population` needed, two disjoint groups of
/// peers could each win an election, so a role could have two holders. Use
/// [`Majority`], or any function returning more than `population / 2` for
/// every population.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "quorum function is unsafe: it requires only {required} vote(s) of a population of {population}, which is not more than half, so two disjoint groups could both elect"
)]
pub struct UnsafeQuorum {
    /// The first population at which the function is unsafe.
    pub population: usize,
    /// The votes the function required at that population.
    pub required: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn votes(q: &dyn QuorumFunc, ns: &[usize]) -> Vec<usize> {
        ns.iter().map(|&n| q.votes_required(n)).collect()
    }

    #[test]
    fn majority_values() {
        assert_eq!(votes(&Majority, &[1, 2, 3, 4, 5, 6]), [1, 2, 2, 3, 3, 4]);
        assert_eq!(check_quorum(&Majority), Ok(()));
    }

    #[test]
    fn simple_majority_values() {
        assert_eq!(
            votes(&SimpleMajority, &[1, 2, 3, 4, 5, 6, 7, 10]),
            [3, 3, 3, 3, 3, 4, 4, 6]
        );
        assert_eq!(check_quorum(&SimpleMajority), Ok(()));
    }

    #[test]
    fn thirty_percent_is_unsafe_at_two() {
        // n = 1: floor(0.3) + 1 = 1 > 1 / 2 = 0, safe.
        // n = 2: floor(0.6) + 1 = 1 <= 2 / 2 = 1, unsafe.
        let q = QuorumPercentage::new(0.3, 1);
        assert_eq!(
            check_quorum(&q),
            Err(UnsafeQuorum {
                population: 2,
                required: 1
            })
        );
    }

    #[test]
    fn half_without_minimum_is_safe() {
        let q = QuorumPercentage::new(0.5, 0);
        assert_eq!(check_quorum(&q), Ok(()));
        assert_eq!(votes(&q, &[1, 2, 3, 4]), [1, 2, 2, 3]);
    }

    #[test]
    fn three_quarters_is_safe() {
        let q = QuorumPercentage::new(0.75, 1);
        assert_eq!(check_quorum(&q), Ok(()));
        assert_eq!(votes(&q, &[1, 4, 5]), [1, 4, 4]);
    }

    #[test]
    fn nan_fraction_is_unsafe() {
        // NaN acts as 0.0: floor(0) + 1 = 1 vote for every n.
        // n = 1: 1 > 0, safe; n = 2: 1 <= 1, unsafe.
        let q = QuorumPercentage::new(f64::NAN, 1);
        assert_eq!(q.votes_required(1), 1);
        assert_eq!(
            check_quorum(&q),
            Err(UnsafeQuorum {
                population: 2,
                required: 1
            })
        );
    }

    #[test]
    fn negative_fraction_is_unsafe() {
        let q = QuorumPercentage::new(-1.0, 0);
        assert_eq!(q.votes_required(100), 1);
        assert_eq!(
            check_quorum(&q),
            Err(UnsafeQuorum {
                population: 2,
                required: 1
            })
        );
    }

    #[test]
    fn huge_fraction_saturates() {
        let q = QuorumPercentage::new(f64::INFINITY, 0);
        assert_eq!(q.votes_required(1), usize::MAX);
        assert_eq!(q.votes_required(0), 1);
        assert_eq!(
            QuorumPercentage::new(1e300, 0).votes_required(5),
            usize::MAX
        );
        assert_eq!(check_quorum(&q), Ok(()));
    }

    #[test]
    fn constant_one_fn_is_unsafe_at_two() {
        let f: fn(usize) -> usize = |_| 1;
        assert_eq!(
            check_quorum(&f),
            Err(UnsafeQuorum {
                population: 2,
                required: 1
            })
        );
    }

    #[test]
    fn more_than_population_is_safe() {
        let f: fn(usize) -> usize = |n| n + 5;
        assert_eq!(check_quorum(&f), Ok(()));
    }

    #[test]
    fn zero_votes_is_unsafe_at_one() {
        let f: fn(usize) -> usize = |_| 0;
        assert_eq!(
            check_quorum(&f),
            Err(UnsafeQuorum {
                population: 1,
                required: 0
            })
        );
    }

    #[test]
    fn error_message_names_numbers() {
        let e = UnsafeQuorum {
            population: 2,
            required: 1,
        };
        let msg = e.to_string();
        assert!(msg.contains("1 vote(s)"), "{msg}");
        assert!(msg.contains("population of 2"), "{msg}");
    }

    #[test]
    fn usable_as_trait_objects() {
        let qs: Vec<Box<dyn QuorumFunc>> = vec![
            Box::new(Majority),
            Box::new(SimpleMajority),
            Box::new((|n| n / 2 + 1) as fn(usize) -> usize),
        ];
        for q in &qs {
            assert_eq!(check_quorum(q.as_ref()), Ok(()), "{q:?}");
        }
    }
}
