//! How a holder keeps its roles: a renewal round to every voter each `renew_interval`,
//! sent again to the silent, the acknowledgements that extend its lease, the anti-entropy
//! announcements, and stepping down when the lease runs out.

use std::net::SocketAddr;

use rand::seq::IteratorRandom;

use super::holder::chunks;
use super::{Ctx, LossReason, Outbox, RoleTimer, Roles};
use crate::clock::LamportTime;
use crate::core::Event;
use crate::identity::{NodeId, NodeName, RoleName};
use crate::wire::{Announcement, Body};

impl Roles {
    pub(super) fn step_down(&mut self, out: &mut Outbox, role: &RoleName, reason: LossReason) {
        if let Some(held) = self.held.remove(role) {
            out.events.push(Event::RoleLost {
                role: role.clone(),
                term: held.term,
                reason,
            });
            self.learn(out, role, |v| v.ended(held.term));
        }
    }

    /// Steps down from every role whose lease has run out; the core calls this before it
    /// handles any input, so a node that was paused never acts on a stale belief. The
    /// voters are told to release the lease, as on a resignation: a holder that can send
    /// but not hear (its renewals reach the voters, their answers never reach it) would
    /// otherwise keep their leases alive for a lease after it stepped down.
    pub(crate) fn expire(&mut self, ctx: &mut Ctx<'_>, out: &mut Outbox) {
        let expired: Vec<(RoleName, LamportTime)> = self
            .held
            .iter()
            .filter(|(_, h)| h.until <= ctx.now)
            .map(|(r, h)| (r.clone(), h.term))
            .collect();
        for (role, term) in expired {
            self.give_up(ctx, out, &role, term, LossReason::LeaseExpired);
        }
    }

    pub(super) fn renew(&mut self, ctx: &mut Ctx<'_>, out: &mut Outbox) {
        if self.held.is_empty() {
            self.renewing = false;
            return;
        }
        let leases: Vec<(RoleName, LamportTime)> =
            self.held.iter().map(|(r, h)| (r.clone(), h.term)).collect();
        let population = ctx.population();
        let voters = ctx.live_voters();
        let asked = voters.iter().map(|v| v.name().clone()).collect();
        let round = self.renewals.start(ctx.now, &leases, population, asked);
        send_renewals(ctx, out, round, &leases, &voters);
        // Voters that have not answered by a third of the interval are asked once more:
        // under loss, a voter that misses several renewals in a row would let its lease
        // run out and believe the role vacant.
        out.timers.push((
            ctx.now + ctx.config.resend_after(),
            RoleTimer::Resend(round),
        ));
        if ctx.i_vote() {
            let mut acked = Vec::new();
            for (role, term) in &leases {
                let voter = self.voters.entry(role.clone()).or_default();
                if voter.renew(ctx.now, ctx.me.name(), *term, ctx.config.lease) {
                    acked.push(*term);
                }
            }
            for (role, _) in &leases {
                self.arm_lease_check(out, role);
            }
            let me = ctx.me.name().clone();
            self.renewed(ctx, round, &me, ctx.population(), &acked);
        }
        // A round sent a holder lease ago can no longer extend anything.
        if let Some(cutoff) = ctx.now.checked_sub(ctx.config.holder_lease()) {
            self.renewals.prune(cutoff);
        }
        out.timers
            .push((ctx.now + ctx.config.renew_interval, RoleTimer::Renew));
    }

    pub(super) fn resend(&self, ctx: &Ctx<'_>, out: &mut Outbox, round: u64) {
        let (leases, silent) = self.renewals.unanswered(round);
        if silent.is_empty() {
            // Every voter answered, as on a healthy network: nothing to look up or send.
            return;
        }
        let voters: Vec<NodeId> = ctx
            .live_voters()
            .into_iter()
            .filter(|v| silent.contains(v.name()))
            .collect();
        send_renewals(ctx, out, round, &leases, &voters);
    }

    pub(super) fn renewed(
        &mut self,
        ctx: &Ctx<'_>,
        round: u64,
        voter: &NodeName,
        population: usize,
        acked: &[LamportTime],
    ) {
        tracing::trace!(me = %ctx.me.name(), round, %voter, population, acked = acked.len(), "renewal acknowledged");
        let reached =
            self.renewals
                .ack(round, voter, population, acked, ctx.config.quorum.as_ref());
        for (role, term, sent_at) in reached {
            if let Some(held) = self.held.get_mut(&role)
                && held.term == term
            {
                held.until = held.until.max(sent_at + ctx.config.holder_lease());
            }
        }
    }

    pub(super) fn reannounce(&mut self, ctx: &mut Ctx<'_>, out: &mut Outbox) {
        if self.held.is_empty() {
            return;
        }
        // Anti-entropy: gossip is not guaranteed to reach everyone, so holders tell a few
        // random members again; those that missed it pass it on.
        let targets: Vec<SocketAddr> = ctx
            .membership
            .live()
            .filter(|id| id.name() != ctx.me.name())
            .map(NodeId::addr)
            .sample(&mut self.rng, ctx.config.gossip_fanout);
        for (role, held) in &self.held {
            let announcement = Announcement::Elected {
                role: role.clone(),
                holder: ctx.me.name().clone(),
                term: held.term,
            };
            for addr in &targets {
                out.sends
                    .push((*addr, Body::Announce(announcement.clone())));
            }
        }
        out.timers
            .push((ctx.now + ctx.config.lease, RoleTimer::Reannounce));
    }
}

/// Sends renewal round `round` of `leases` to `voters`, in datagrams that fit.
fn send_renewals(
    ctx: &Ctx<'_>,
    out: &mut Outbox,
    round: u64,
    leases: &[(RoleName, LamportTime)],
    voters: &[NodeId],
) {
    for chunk in chunks(leases, ctx.config.max_datagram_size) {
        for voter in voters {
            out.sends.push((
                voter.addr(),
                Body::Renew {
                    round,
                    leases: chunk.to_vec(),
                },
            ));
        }
    }
}
