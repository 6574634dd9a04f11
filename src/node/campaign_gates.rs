//! Campaigns with a condition: for the first free of several roles (the slots of a
//! semaphore, as `consul lock -n`), or only while the service is healthy (as Consul's
//! session health checks).
//!
//! Both are built on [`NodeHandle::campaign_with`]: a campaign given up is withdrawn,
//! and a role won by a campaign nobody waits for any more is resigned at once, so
//! neither ever leaves this node holding more than the one role it returns.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

use tokio::sync::watch;

use super::error::NodeError;
use super::handle::NodeHandle;
use super::leadership::Leadership;
use crate::core::RoleError;
use crate::identity::RoleName;
use crate::role_value::RoleValue;

type Campaign<'a> = Pin<Box<dyn Future<Output = Result<Leadership, NodeError>> + Send + 'a>>;

impl NodeHandle {
    /// Campaigns for every role of `roles` at once and returns the first won; the other
    /// campaigns are withdrawn (should two be won at the same moment, the second is
    /// resigned at once). With the roles `lock/1` to `lock/N`, at most N nodes hold one
    /// at a time, each with its own fencing term: a semaphore, as `consul lock -n N`,
    /// with the safety of a single role for each slot.
    ///
    /// Fails with the first campaign's error (the node left or stopped), or with
    /// [`RoleError::RoleUnfilled`] if `roles` is empty.
    pub async fn campaign_any(
        &self,
        roles: impl IntoIterator<Item = RoleName>,
        value: RoleValue,
    ) -> Result<Leadership, NodeError> {
        let mut campaigns: Vec<Campaign<'_>> = roles
            .into_iter()
            .map(|role| Box::pin(self.campaign_with(role, value.clone())) as Campaign<'_>)
            .collect();
        if campaigns.is_empty() {
            return Err(NodeError::Role(RoleError::RoleUnfilled));
        }
        std::future::poll_fn(|cx| {
            campaigns
                .iter_mut()
                .find_map(|campaign| match campaign.as_mut().poll(cx) {
                    Poll::Ready(outcome) => Some(Poll::Ready(outcome)),
                    Poll::Pending => None,
                })
                .unwrap_or(Poll::Pending)
        })
        .await
    }

    /// Campaigns for `role` only while `healthy` holds `true`: it waits for a pass
    /// before it campaigns, withdraws when the health turns to `false` before the role
    /// is won, and resigns at once a role won at the moment the health turned, so a
    /// node whose check fails never holds the role for its caller.
    ///
    /// Holding stays tied to health through the caller: once this returns, stop the
    /// work and resign when `healthy` turns `false` (`healthy.wait_for(|h| !h)`), so
    /// that the next holder starts only after this one stopped. `campaign --check`
    /// does exactly this.
    ///
    /// Fails as [`NodeHandle::campaign`] does, and with [`NodeError::ShutDown`] if every
    /// sender of `healthy` is gone while waiting for a pass.
    pub async fn campaign_while_healthy(
        &self,
        role: RoleName,
        value: RoleValue,
        mut healthy: watch::Receiver<bool>,
    ) -> Result<Leadership, NodeError> {
        loop {
            healthy
                .wait_for(|h| *h)
                .await
                .map_err(|_| NodeError::ShutDown)?;
            let won = tokio::select! {
                won = self.campaign_with(role.clone(), value.clone()) => won?,
                // The health turned: the campaign is dropped, so withdrawn.
                _ = healthy.wait_for(|h| !*h) => continue,
            };
            if *healthy.borrow_and_update() {
                return Ok(won);
            }
            won.resign().await?;
        }
    }
}
