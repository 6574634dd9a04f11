//! One log line per membership change and per role change, with fields a log system can
//! index: `node` (this node), `member` and `addr` for a member, `role`, `status`,
//! `holder` and `term` for a role. With `--log-format json` each is one JSON object
//! whose `fields` hold them.

use polity::{Event, LossReason, NodeName, RoleState};

/// Logs `event`, seen by the node `node`: membership and role changes at info (losses
/// and failures at warn), the rest at debug.
pub fn log(node: &NodeName, event: &Event) {
    match event {
        Event::MemberUp(id) => {
            tracing::info!(%node, member = %id.name(), addr = %id.addr(), "member up");
        }
        Event::MemberDown(id) => {
            tracing::warn!(%node, member = %id.name(), addr = %id.addr(), "member down");
        }
        Event::MemberLeft(id) => {
            tracing::info!(%node, member = %id.name(), addr = %id.addr(), "member left");
        }
        Event::MemberReaped(name) => tracing::info!(%node, member = %name, "member forgotten"),
        Event::Joined => tracing::info!(%node, "joined the cluster"),
        Event::Isolated => tracing::warn!(%node, "no live member known"),
        Event::Rejoined(id) => {
            tracing::warn!(%node, addr = %id.addr(), "was declared down; rejoined");
        }
        Event::RoleAcquired { role, term } => {
            tracing::info!(%node, %role, holder = %node, %term, "holding role");
        }
        Event::RoleAtRisk { role, term, .. } => tracing::warn!(
            %node,
            %role,
            holder = %node,
            %term,
            "no quorum renewed the role lately; at risk"
        ),
        Event::RoleLost {
            role,
            term,
            reason: LossReason::Resigned,
        } => tracing::info!(%node, %role, %term, "resigned role"),
        Event::RoleLost { role, term, reason } => {
            tracing::warn!(%node, %role, %term, ?reason, "no longer holding role");
        }
        Event::RoleChanged { role, state } => match state {
            RoleState::Vacant => {
                tracing::info!(%node, %role, status = "vacant", "role changed");
            }
            RoleState::Held {
                holder,
                term,
                value,
            } => tracing::info!(
                %node,
                %role,
                status = "held",
                %holder,
                %term,
                value = value.as_str().unwrap_or("(not text)"),
                "role changed"
            ),
            RoleState::Recalled { holder, term } => tracing::info!(
                %node,
                %role,
                status = "recalled",
                %holder,
                %term,
                "role changed"
            ),
        },
        Event::KeyringChanged => tracing::info!(%node, "keyring changed"),
        other => tracing::debug!(%node, event = ?other, "event"),
    }
}
