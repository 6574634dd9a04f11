//! Handing a held role to a named node (raft's `LeadershipTransferToServer`): the holder
//! asks the node whether it campaigns for the role, and only once it says so resigns,
//! naming it the successor that every voter keeps its vote for.
//!
//! Nothing here can make two holders: the holder steps down before any voter hears of
//! the transfer, and a voter's reservation only ever refuses votes. What it adds is
//! liveness for one node: its rivals wait while the successor asks.

use super::{Completion, Ctx, LossReason, Outbox, RequestId, RoleError, RoleTimer, Roles};
use crate::clock::LamportTime;
use crate::core::membership::MemberStatus;
use crate::identity::{NodeId, NodeName, RoleName};
use crate::wire::Body;
use std::collections::BTreeMap;

/// How many times the offer is sent before the target counts as unreachable: it travels
/// over UDP, and one loss should not fail a transfer.
const OFFERS: u32 = 3;

/// A transfer waiting for its target's answer.
#[derive(Debug)]
pub(crate) struct Transfer {
    role: RoleName,
    term: LamportTime,
    target: NodeId,
    /// Offers sent so far.
    offers: u32,
}

/// The transfers this node has asked for, by request.
pub(crate) type Transfers = BTreeMap<RequestId, Transfer>;

impl Roles {
    /// Hands `role`, held here, to `to`: completes with the term given up once `to`
    /// answered that it campaigns for the role and this node resigned in its favour;
    /// [`RoleError::NotHolder`], [`RoleError::NotCandidate`] or
    /// [`RoleError::Unreachable`] otherwise, keeping the role.
    pub(crate) fn transfer(
        &mut self,
        ctx: &mut Ctx<'_>,
        out: &mut Outbox,
        role: RoleName,
        to: &NodeName,
    ) -> RequestId {
        let id = self.next_request();
        let fail = |error| Completion::Transfer {
            id,
            result: Err(error),
        };
        let Some(term) = self.held.get(&role).map(|held| held.term) else {
            out.completions.push(fail(RoleError::NotHolder));
            return id;
        };
        if to == ctx.me.name() {
            let error = RoleError::NotCandidate { node: to.clone() };
            out.completions.push(fail(error));
            return id;
        }
        let target = match ctx.membership.lookup(to) {
            // A suspect may well be alive: the offer finds out.
            Some((target, MemberStatus::Alive | MemberStatus::Suspect)) => target.clone(),
            _ => {
                let error = RoleError::Unreachable { node: to.clone() };
                out.completions.push(fail(error));
                return id;
            }
        };
        let transfer = Transfer {
            role,
            term,
            target,
            offers: 0,
        };
        self.transfers.insert(id, transfer);
        self.offer(ctx, out, id);
        id
    }

    /// Sends the offer of transfer `id` (again), or gives up after [`OFFERS`] of them.
    pub(super) fn offer(&mut self, ctx: &Ctx<'_>, out: &mut Outbox, id: RequestId) {
        let Some(transfer) = self.transfers.get_mut(&id) else {
            return;
        };
        if transfer.offers == OFFERS {
            let error = if self.held.get(&transfer.role).map(|h| h.term) == Some(transfer.term) {
                RoleError::Unreachable {
                    node: transfer.target.name().clone(),
                }
            } else {
                RoleError::NotHolder
            };
            self.transfers.remove(&id);
            out.completions.push(Completion::Transfer {
                id,
                result: Err(error),
            });
            return;
        }
        transfer.offers += 1;
        let body = Body::TransferOffer {
            role: transfer.role.clone(),
            term: transfer.term,
        };
        out.sends.push((transfer.target.addr(), body));
        let wait = ctx.config.election_timeout / OFFERS;
        out.timers.push((ctx.now + wait, RoleTimer::Offer(id)));
    }

    /// A holder offers this node its role: say whether it campaigns for it.
    pub(super) fn on_transfer_offer(
        &mut self,
        out: &mut Outbox,
        from: &NodeId,
        role: RoleName,
        term: LamportTime,
    ) {
        let campaigning = self.campaigns.contains_key(&role) && !self.held.contains_key(&role);
        let reply = Body::TransferReply {
            role,
            term,
            campaigning,
        };
        out.sends.push((from.addr(), reply));
    }

    /// The target of a transfer answered: resign in its favour if it campaigns and this
    /// node still holds the role at the term offered.
    pub(super) fn on_transfer_reply(
        &mut self,
        ctx: &mut Ctx<'_>,
        out: &mut Outbox,
        from: &NodeId,
        role: &RoleName,
        term: LamportTime,
        campaigning: bool,
    ) {
        let Some(id) = self.transfers.iter().find_map(|(id, t)| {
            (t.role == *role && t.term == term && t.target.name() == from.name()).then_some(*id)
        }) else {
            return;
        };
        self.transfers.remove(&id);
        let result = if self.held.get(role).map(|h| h.term) != Some(term) {
            Err(RoleError::NotHolder)
        } else if !campaigning {
            Err(RoleError::NotCandidate {
                node: from.name().clone(),
            })
        } else {
            let to = Some(from.name().clone());
            self.give_up(ctx, out, role, term, LossReason::Resigned, to);
            Ok(term)
        };
        out.completions.push(Completion::Transfer { id, result });
    }

    /// Ends transfer `id` unanswered, if it waits.
    pub(super) fn cancel_transfer(&mut self, out: &mut Outbox, id: RequestId) {
        if self.transfers.remove(&id).is_some() {
            out.completions.push(Completion::Transfer {
                id,
                result: Err(RoleError::Cancelled),
            });
        }
    }

    /// Whether a transfer of `role` waits for an answer.
    pub(super) fn transfers_of(&self, role: &RoleName) -> bool {
        self.transfers.values().any(|t| t.role == *role)
    }

    /// The transfers waiting for an answer, for the leave that cancels them.
    pub(super) fn transfer_ids(&self) -> impl Iterator<Item = RequestId> + '_ {
        self.transfers.keys().copied()
    }
}
