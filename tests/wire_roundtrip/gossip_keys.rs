//! The gossip keys of announcements: which news replaces which.

use std::net::SocketAddr;

use foca::Invalidates;
use polity::wire::{Announcement, Subject};
use polity::{LamportTime, NodeId, RoleValue, Tags};
use proptest::prelude::*;

use crate::helpers::{id, name, role};
use crate::strategies::announcement;

/// The subject and version an announcement should be gossiped under, written out apart
/// from `Announcement::key`: members by generation, roles by term and then the step
/// within the term (elected, recalled, resigned), tags by generation and then version.
fn expected_key(announcement: &Announcement) -> (Subject, (u64, u64)) {
    match announcement {
        Announcement::Left { id } => (Subject::Member(id.name().clone()), (id.generation(), 0)),
        Announcement::ForceLeft {
            name, generation, ..
        } => (Subject::Member(name.clone()), (*generation, 0)),
        // Within a term: the value's version while elected, then a recall, then the end.
        Announcement::Elected {
            role,
            term,
            version,
            ..
        } => (
            Subject::Role(role.clone()),
            (term.get(), (*version).min(u64::MAX - 2)),
        ),
        Announcement::Recalled { role, term } => {
            (Subject::Role(role.clone()), (term.get(), u64::MAX - 1))
        }
        Announcement::Resigned { role, term, .. } => {
            (Subject::Role(role.clone()), (term.get(), u64::MAX))
        }
        Announcement::Tags { id, version, .. } => (
            Subject::Tags(id.name().clone()),
            (id.generation(), *version),
        ),
    }
}

/// Announcements drawn from a handful of names, generations and terms, so that two of
/// them often share a subject, and a member and a role often share a name.
fn crowded_announcement() -> impl Strategy<Value = Announcement> {
    let text = || prop::sample::select(vec!["x", "y", "scheduler"]);
    let number = || prop_oneof![0u64..3, Just(u64::MAX)];
    let node = move || text().prop_map(name);
    let role_of = move || text().prop_map(role);
    prop_oneof![
        (node(), number()).prop_map(|(n, generation)| Announcement::Left {
            id: NodeId::new(n, SocketAddr::from(([10, 0, 0, 2], 7000)), generation),
        }),
        (node(), number(), node()).prop_map(|(name, generation, by)| Announcement::ForceLeft {
            name,
            generation,
            by
        }),
        (role_of(), node(), number(), number()).prop_map(|(role, holder, term, version)| {
            Announcement::Elected {
                role,
                holder,
                term: LamportTime(term),
                version,
                value: RoleValue::EMPTY,
            }
        }),
        (role_of(), number()).prop_map(|(role, term)| Announcement::Recalled {
            role,
            term: LamportTime(term)
        }),
        (role_of(), node(), number()).prop_map(|(role, holder, term)| Announcement::Resigned {
            role,
            holder,
            term: LamportTime(term)
        }),
        (node(), number(), number()).prop_map(|(n, generation, version)| Announcement::Tags {
            id: NodeId::new(n, SocketAddr::from(([10, 0, 0, 2], 7000)), generation),
            version,
            tags: Tags::new(),
        }),
    ]
}

proptest! {
    #[test]
    fn an_announcement_key_names_its_subject_and_version(announcement in announcement()) {
        let key = announcement.key();
        let (subject, version) = expected_key(&announcement);
        prop_assert_eq!(key.subject(), &subject);
        prop_assert_eq!(key.version(), version);
        prop_assert!(key.invalidates(&key), "an announcement replaces an equal one");
    }

    #[test]
    fn only_newer_or_equal_news_of_the_same_subject_invalidates(
        a in crowded_announcement(),
        b in crowded_announcement(),
    ) {
        let (a_subject, a_version) = expected_key(&a);
        let (b_subject, b_version) = expected_key(&b);
        let same = a_subject == b_subject;
        let (a_key, b_key) = (a.key(), b.key());
        prop_assert_eq!(
            a_key.invalidates(&b_key),
            same && a_version >= b_version,
            "{:?} over {:?}", a, b
        );
        // Of two announcements about the same subject, the newer one wins; both win
        // only when they are equally new.
        prop_assert_eq!(
            a_key.invalidates(&b_key) || b_key.invalidates(&a_key),
            same
        );
        prop_assert_eq!(
            a_key.invalidates(&b_key) && b_key.invalidates(&a_key),
            same && a_version == b_version
        );
        prop_assert_eq!(a_key == b_key, same && a_version == b_version);
    }
}

#[test]
fn role_announcements_order_by_term_then_step() {
    let r = role("scheduler");
    let published = |holder: &str, term: u64, version: u64| Announcement::Elected {
        role: r.clone(),
        holder: name(holder),
        term: LamportTime(term),
        version,
        value: RoleValue::new(format!("v{version}")).expect("short"),
    };
    let elected = |holder: &str, term: u64| published(holder, term, 0);
    let recalled = |term: u64| Announcement::Recalled {
        role: r.clone(),
        term: LamportTime(term),
    };
    let resigned = |holder: &str, term: u64| Announcement::Resigned {
        role: r.clone(),
        holder: name(holder),
        term: LamportTime(term),
    };
    // From oldest to newest news.
    let history = [
        elected("a", 0),
        published("a", 0, 1),
        published("a", 0, u64::MAX),
        recalled(0),
        resigned("a", 0),
        elected("b", 1),
        recalled(1),
        resigned("b", 1),
        elected("a", 2),
        published("a", 2, 7),
        resigned("a", 2),
        elected("c", u64::MAX - 1),
        elected("c", u64::MAX),
        recalled(u64::MAX),
        resigned("c", u64::MAX),
    ];
    for (i, newer) in history.iter().enumerate() {
        for (j, older) in history.iter().enumerate() {
            let (newer_key, older_key) = (newer.key(), older.key());
            assert_eq!(newer_key.subject(), &Subject::Role(r.clone()));
            assert_eq!(
                newer_key.version().cmp(&older_key.version()),
                i.cmp(&j),
                "{newer:?} against {older:?}"
            );
            assert_eq!(
                newer_key.invalidates(&older_key),
                i >= j,
                "{newer:?} over {older:?}"
            );
        }
    }
    // Who won or resigned is not part of the version: two reports of the same step of
    // the same term replace each other.
    assert_eq!(elected("a", 5).key(), elected("b", 5).key());
    assert!(elected("a", 5).key().invalidates(&elected("b", 5).key()));
    assert!(resigned("a", 5).key().invalidates(&resigned("b", 5).key()));
}

#[test]
fn different_subjects_never_invalidate_each_other() {
    let newest = [
        Announcement::Elected {
            role: role("scheduler"),
            holder: name("scheduler"),
            term: LamportTime(u64::MAX),
            version: u64::MAX,
            value: RoleValue::EMPTY,
        },
        Announcement::Recalled {
            role: role("scheduler"),
            term: LamportTime(u64::MAX),
        },
        Announcement::Resigned {
            role: role("scheduler"),
            holder: name("scheduler"),
            term: LamportTime(u64::MAX),
        },
    ];
    let oldest = [
        // The same text, but a member.
        Announcement::Left {
            id: id("scheduler", 1, 0),
        },
        Announcement::ForceLeft {
            name: name("scheduler"),
            generation: 0,
            by: name("scheduler"),
        },
        // Another role.
        Announcement::Elected {
            role: role("compactor"),
            holder: name("scheduler"),
            term: LamportTime::ZERO,
            version: 0,
            value: RoleValue::EMPTY,
        },
        Announcement::Recalled {
            role: role("Scheduler"),
            term: LamportTime::ZERO,
        },
        Announcement::Resigned {
            role: role("scheduler-2"),
            holder: name("scheduler"),
            term: LamportTime::ZERO,
        },
    ];
    for a in &newest {
        for b in &oldest {
            assert!(!a.key().invalidates(&b.key()), "{a:?} over {b:?}");
            assert!(!b.key().invalidates(&a.key()), "{b:?} over {a:?}");
            assert_ne!(a.key().subject(), b.key().subject());
        }
    }
    // A member and a role with the same text are different subjects.
    assert_ne!(
        Subject::Member(name("scheduler")),
        Subject::Role(role("scheduler"))
    );
}
