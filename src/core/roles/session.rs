//! Renewing by session: a voter that has received a holder's whole held set in one
//! round keeps it (`voter/sessions.rs`), and the holder then renews it by version alone,
//! so that a steady renewal costs one small datagram per voter and no per-role work on
//! either side, whatever the number of roles held (`docs/design/forgetting-and-sessions.md`).
//!
//! Invariants:
//! - a holder's set version rises whenever the set of (role, term) it holds changes, so
//!   one version always names one set;
//! - the holder counts a `whole` answer as an acknowledgement of every role of the round
//!   answered, and only for the round's own version: the voter renewed every lease of
//!   that set after the round was sent, so `sent_at + holder_lease` stays within every
//!   voter's lease (S1).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::holding::Held;
use super::rounds::HeldList;
use super::voter::{ChangesChunk, Chunk};
use super::{Ctx, Outbox, Roles};
use crate::clock::LamportTime;
use crate::identity::{NodeId, NodeName, RoleName};
use crate::wire::{Body, SetPart};

/// On a holder: the version of its held set, which voters keep which version whole, and
/// the sets at those versions, so that a voter a few changes behind gets only them.
#[derive(Debug, Default)]
pub(crate) struct HeldVersion {
    version: u64,
    synced: BTreeMap<NodeName, u64>,
    /// The set at the current version once a round needed it, and at every version a
    /// voter keeps.
    lists: BTreeMap<u64, Arc<HeldList>>,
}

impl HeldVersion {
    /// The set changed: a voter gets the changes since the version it keeps.
    pub(crate) fn changed(&mut self) {
        self.version += 1;
    }

    /// The held set at the current version, `held` as it is now; listed once per version.
    pub(crate) fn list(&mut self, held: &BTreeMap<RoleName, Held>) -> Arc<HeldList> {
        let version = self.version;
        let list = self.lists.entry(version).or_insert_with(|| {
            let leases = held.iter().map(|(r, h)| (r.clone(), h.term)).collect();
            Arc::new(HeldList::new(version, leases))
        });
        Arc::clone(list)
    }

    /// The set `voter` keeps whole, if it is an older one this holder still has.
    pub(crate) fn base(&self, voter: &NodeName) -> Option<&Arc<HeldList>> {
        let version = self.synced.get(voter)?;
        (*version != self.version)
            .then(|| self.list_at(*version))
            .flatten()
    }

    /// The set at `version`, if this holder still has it.
    pub(crate) fn list_at(&self, version: u64) -> Option<&Arc<HeldList>> {
        self.lists.get(&version)
    }

    /// The current version.
    pub(crate) fn current(&self) -> u64 {
        self.version
    }

    /// Whether `voter` keeps the current set whole, as far as this holder knows.
    pub(crate) fn is_synced(&self, voter: &NodeName) -> bool {
        self.synced.get(voter) == Some(&self.version)
    }

    /// `voter` keeps the set at `version` whole (a late answer about an older version
    /// changes nothing).
    pub(crate) fn synced(&mut self, voter: &NodeName, version: u64) {
        let kept = self.synced.entry(voter.clone()).or_insert(version);
        *kept = (*kept).max(version);
    }

    /// `voter` no longer keeps a whole set: it gets the full list again.
    pub(crate) fn unsynced(&mut self, voter: &NodeName) {
        self.synced.remove(voter);
    }

    /// Forgets the voters not in `live`, and the sets no voter keeps.
    pub(crate) fn retain(&mut self, live: &BTreeSet<NodeName>) {
        self.synced.retain(|voter, _| live.contains(voter));
        let kept: BTreeSet<u64> = self.synced.values().copied().collect();
        let current = self.version;
        self.lists
            .retain(|version, _| *version == current || kept.contains(version));
    }
}

impl Roles {
    /// A chunk of a holder's renewal: each lease renewed as [`Roles::renew_leases`] says;
    /// the answer names the set's version once this round brought it whole.
    pub(super) fn on_renew(
        &mut self,
        ctx: &mut Ctx<'_>,
        out: &mut Outbox,
        from: &NodeId,
        round: u64,
        part: SetPart,
        leases: Vec<(RoleName, LamportTime)>,
    ) {
        if !ctx.i_vote() {
            return;
        }
        let acked = self.renew_leases(ctx, out, from, &leases);
        let chunk = Chunk {
            round,
            part,
            leases: &leases,
            all_renewed: acked.len() == leases.len(),
        };
        let whole = self
            .voters
            .add_part(out, ctx.now, ctx.config.lease, from, chunk);
        reply(ctx, out, from, round, acked, whole);
    }

    /// A chunk of the changes to the set kept for `from`: each lease added renewed as
    /// [`Roles::renew_leases`] says; once every chunk arrived and every one was renewed,
    /// the set is kept at the new version, renewed whole, and the answer names it.
    pub(super) fn on_renew_changes(
        &mut self,
        ctx: &mut Ctx<'_>,
        out: &mut Outbox,
        from: &NodeId,
        (round, base): (u64, u64),
        part: SetPart,
        changes: Vec<(RoleName, Option<LamportTime>)>,
    ) {
        if !ctx.i_vote() {
            return;
        }
        let added: Vec<(RoleName, LamportTime)> = changes
            .iter()
            .filter_map(|(role, term)| term.map(|t| (role.clone(), t)))
            .collect();
        let acked = self.renew_leases(ctx, out, from, &added);
        let chunk = ChangesChunk {
            round,
            from: base,
            part,
            changes: &changes,
            all_renewed: acked.len() == added.len(),
        };
        let whole = self
            .voters
            .add_changes(out, ctx.now, ctx.config.lease, from, chunk);
        reply(ctx, out, from, round, acked, whole);
    }

    /// A renewal by version: every lease of the set kept whole for `from` is renewed at
    /// once. If no whole set at `version` is kept, the answer names no version and the
    /// holder sends the list again.
    pub(super) fn on_renew_set(
        &mut self,
        ctx: &mut Ctx<'_>,
        out: &mut Outbox,
        from: &NodeId,
        round: u64,
        version: u64,
    ) {
        if !ctx.i_vote() {
            return;
        }
        let whole = self
            .voters
            .renew_set(ctx.now, ctx.config.lease, from, version)
            .then_some(version);
        reply(ctx, out, from, round, Vec::new(), whole);
    }
}

/// Answers `from`'s renewal round `round`, by list or by version alike.
fn reply(
    ctx: &Ctx<'_>,
    out: &mut Outbox,
    from: &NodeId,
    round: u64,
    acked: Vec<LamportTime>,
    whole: Option<u64>,
) {
    out.sends.push((
        from.addr(),
        Body::RenewReply {
            round,
            population: ctx.population_u32(),
            acked,
            whole,
        },
    ));
}
