//! The protocol's derived timings: every delay the roles layer takes as a fraction of a
//! configured duration, named and documented in one place. With `lan` (election timeout
//! 300 ms, renew interval 300 ms, lease 1.5 s) the figures in brackets.

use std::time::Duration;

use super::Config;

/// `election_timeout / HANDOFF_DIVISOR` is [`Config::handoff_step`].
const HANDOFF_DIVISOR: u32 = 100;
/// `election_timeout / RETRY_DIVISOR` is [`Config::retry_step`].
const RETRY_DIVISOR: u32 = 30;
/// `election_timeout / CONTEST_DIVISOR` is [`Config::contest_step`].
const CONTEST_DIVISOR: u32 = 10;
/// `renew_interval / RESEND_DIVISOR` is [`Config::resend_after`].
const RESEND_DIVISOR: u32 = 3;
/// `lease * SUCCESSOR_LEASES` is [`Config::successor_window`].
const SUCCESSOR_LEASES: u32 = 2;
/// `lease * FORGET_LEASES` is [`Config::forget_after`].
const FORGET_LEASES: u32 = 10;

impl Config {
    /// How far apart waiting candidates go, in rank order, when a holder gives its role
    /// up (a resignation, a release), and how soon a voter that has yet to hear a release
    /// is asked again: `election_timeout / 100` (3 ms). Turns keep candidates from asking
    /// at once and splitting the vote.
    pub(crate) fn handoff_step(&self) -> Duration {
        self.election_timeout / HANDOFF_DIVISOR
    }

    /// The first step of a candidate's backoff after a lost election, doubled with each
    /// loss up to eight times, and the head start a named successor has over its rivals:
    /// `election_timeout / 30` (10 ms).
    pub(crate) fn retry_step(&self) -> Duration {
        self.election_timeout / RETRY_DIVISOR
    }

    /// How far apart waiting candidates go when a lease this node vouched for ran out
    /// (the holder went quiet), how long a candidate refused for another's undecided
    /// election waits before asking again, and for how much of an election a voter that
    /// has yet to hear a release is asked again: `election_timeout / 10` (30 ms).
    pub(crate) fn contest_step(&self) -> Duration {
        self.election_timeout / CONTEST_DIVISOR
    }

    /// When a renewal round is sent again to the voters that have not answered it:
    /// `renew_interval / 3` (100 ms). Under loss, a voter that missed several renewals in
    /// a row would let its lease run out and believe the role vacant.
    pub(crate) fn resend_after(&self) -> Duration {
        self.renew_interval / RESEND_DIVISOR
    }

    /// How far back a holder that steps down looks for the candidates that asked it for
    /// a vote, to name one as its successor: `2 * lease` (3 s).
    pub(crate) fn successor_window(&self) -> Duration {
        self.lease * SUCCESSOR_LEASES
    }

    /// How long a vacant role's state must stay unchanged, with nothing on this node
    /// using it (no lease, hold, campaign, election or request), before the node
    /// forgets it: `10 * lease` (15 s). A forgotten role leaves `roles` listings; a
    /// query of it still asks a quorum and answers correctly.
    pub fn forget_after(&self) -> Duration {
        self.lease * FORGET_LEASES
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NodeName;

    /// The figures the documentation gives for `lan`.
    #[test]
    fn lan_timings_are_as_documented() {
        let config = Config::lan(NodeName::new("n").unwrap());
        let ms = Duration::from_millis;
        assert_eq!(config.handoff_step(), ms(3));
        assert_eq!(config.retry_step(), ms(10));
        assert_eq!(config.contest_step(), ms(30));
        assert_eq!(config.resend_after(), ms(100));
        assert_eq!(config.successor_window(), ms(3000));
        assert_eq!(config.forget_after(), ms(15_000));
    }
}
