//! `campaign --slots N ROLE`: a semaphore, as `consul lock -n N` is: CMD runs on at most
//! N nodes at once.
//!
//! The N slots are the roles `ROLE/1` to `ROLE/N`, each elected as any role is, so each
//! has one holder at a time with its own fencing term (S1 for every slot, and so at
//! most N holders of the semaphore). A node campaigns for every slot at once, holds the
//! first it wins and withdraws from the others, so it never takes two. `polity query
//! ROLE/2` shows who holds slot 2, and `polity roles` lists them all.

use polity::{Leadership, NodeError, NodeHandle, RoleName, RoleValue};
use tokio::task::JoinSet;

/// The most slots a semaphore may have: each is a role every campaigning node seeks.
pub const MAX_SLOTS: u32 = 256;

/// One role to campaign for: the role itself, or one slot of a semaphore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// The role elected.
    pub role: RoleName,
    /// Its number among the semaphore's slots, from 1 (`POLITY_SLOT`); none without
    /// `--slots`.
    pub number: Option<u32>,
}

/// The roles `campaign` seeks for `role`: the role alone, or with `slots`, one role per
/// slot. Fails, with a message for the user, if a slot's role name would be too long.
pub fn slots_of(role: &RoleName, slots: Option<u32>) -> Result<Vec<Slot>, String> {
    let Some(count) = slots else {
        return Ok(vec![Slot {
            role: role.clone(),
            number: None,
        }]);
    };
    (1..=count)
        .map(|number| {
            let name = format!("{role}/{number}");
            RoleName::new(&name)
                .map(|role| Slot {
                    role,
                    number: Some(number),
                })
                .map_err(|error| format!("--slots {count}: slot role {name:?}: {error}"))
        })
        .collect()
}

/// Parses `--slots`: 1 to [`MAX_SLOTS`].
pub fn parse_slots(text: &str) -> Result<u32, String> {
    match text.parse::<u32>() {
        Ok(count @ 1..=MAX_SLOTS) => Ok(count),
        _ => Err(format!("expected a number of slots from 1 to {MAX_SLOTS}")),
    }
}

/// Campaigns for every one of `slots` at once and returns the first won; the other
/// campaigns are withdrawn (a slot won at the same moment is resigned at once, as a
/// dropped [`Leadership`] is).
pub async fn campaign_any<'a>(
    node: &NodeHandle,
    slots: &'a [Slot],
    value: &RoleValue,
    priority: u32,
) -> Result<(Leadership, &'a Slot), NodeError> {
    let mut campaigns = JoinSet::new();
    for (index, slot) in slots.iter().enumerate() {
        let (node, role, value) = (node.clone(), slot.role.clone(), value.clone());
        let won = async move { node.campaign_with_priority(role, value, priority).await };
        campaigns.spawn(async move { (index, won.await) });
    }
    let mut failure = None;
    while let Some(joined) = campaigns.join_next().await {
        match joined {
            Ok((index, Ok(leadership))) => return Ok((leadership, &slots[index])),
            Ok((_, Err(error))) => failure = Some(error),
            // A campaign task is never aborted while the set lives, and none panics.
            Err(error) => tracing::error!(%error, "a campaign task ended"),
        }
    }
    Err(failure.unwrap_or(NodeError::ShutDown))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_numbered_roles_under_the_role() {
        let role = RoleName::new("workers").unwrap();
        let slots = slots_of(&role, Some(3)).unwrap();
        let names: Vec<&str> = slots.iter().map(|s| s.role.as_str()).collect();
        assert_eq!(names, ["workers/1", "workers/2", "workers/3"]);
        assert_eq!(slots[2].number, Some(3));
        assert_eq!(
            slots_of(&role, None).unwrap(),
            [Slot { role, number: None }]
        );
    }

    #[test]
    fn a_slot_name_past_the_role_name_limit_is_refused() {
        let role = RoleName::new("r".repeat(127)).unwrap();
        let error = slots_of(&role, Some(10)).unwrap_err();
        assert!(error.contains("--slots 10"), "{error}");
    }

    #[test]
    fn the_slot_count_is_bounded() {
        assert_eq!(parse_slots("1"), Ok(1));
        assert_eq!(parse_slots("256"), Ok(256));
        for bad in ["0", "257", "-1", "two", ""] {
            assert!(parse_slots(bad).is_err(), "{bad}");
        }
    }
}
