//! The run: random and mutated datagrams through the decoders and a running core.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use polity::wire::{self, Body, Kind};
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::corpus::{RoleFacts, corpus};
use crate::decoders::{Verdict, panic_message, run_decoders};
use crate::helpers::{MAX_DATAGRAM, SHOWN_FAILURES, hex, local};
use crate::mutators::{Origin, generate};
use crate::observation::{drain, observe, rejected, rejected_yet};
use crate::target::{B_PORT, Target, joined_target};
use crate::wire_variants::{
    ANNOUNCEMENT_VARIANTS, BODY_VARIANTS, announcement_variant, body_variant,
};

const DEFAULT_SEED: u64 = 0x706f_6c69_7479;
const DEFAULT_CASES: usize = 100_000;
/// The target core is rebuilt from scratch this often, so that what earlier datagrams
/// did to it (new members, a rejoin under a new identity) does not pile up.
const RESET_EVERY: usize = 2_000;
/// Time moves on and due timers run this often, so the core also passes through
/// suspicion and probing while it is fed.
const TICK_EVERY: usize = 200;
const TICK: Duration = Duration::from_millis(500);

fn env_number(name: &str) -> Option<u64> {
    let value = std::env::var(name).ok()?;
    let value = value.trim().replace('_', "");
    let parsed = match value.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => value.parse(),
    };
    Some(parsed.unwrap_or_else(|_| panic!("{name}={value:?} is not a number")))
}

#[derive(Debug, Default)]
struct Tally {
    fed: usize,
    rejected: usize,
    oversized: usize,
    envelope: usize,
    malformed: usize,
    by_swim: usize,
    accepted: usize,
    /// Accepted datagrams that changed what the core shows, or made it send, report or
    /// complete something.
    effective: usize,
}

/// Which polity messages the core accepted, by body variant, and which announcements
/// among them, by announcement variant.
#[derive(Debug, Default)]
struct Reached {
    bodies: [usize; BODY_VARIANTS],
    announcements: [usize; ANNOUNCEMENT_VARIANTS],
}

impl Reached {
    fn record(&mut self, datagram: &[u8]) {
        if let Ok((Kind::Polity, body)) = wire::open(datagram, MAX_DATAGRAM)
            && let Ok(message) = wire::decode_message(body)
        {
            self.bodies[body_variant(&message.body)] += 1;
            if let Body::Announce(announcement) = &message.body {
                self.announcements[announcement_variant(announcement)] += 1;
            }
        }
    }
}

#[test]
fn random_and_mutated_datagrams_are_handled_safely() {
    let seed = env_number("POLITY_FUZZ_SEED").unwrap_or(DEFAULT_SEED);
    let cases = env_number("POLITY_FUZZ_CASES")
        .map(|n| usize::try_from(n).expect("fits"))
        .unwrap_or(DEFAULT_CASES);
    let replay = format!("POLITY_FUZZ_SEED={seed:#x} POLITY_FUZZ_CASES={cases}");
    eprintln!("wire fuzz: {replay}");

    let base = Instant::now();
    let Target {
        a: target,
        mut b,
        from_b,
        now: start,
    } = joined_target(base);
    // "b" probes "a", gossips to it and renews its role: real packets for the corpus,
    // not delivered.
    let mut real = from_b;
    for step in 1..=6 {
        b.handle_timeout(start + TICK * step * 4);
        while let Some(t) = b.poll_transmit() {
            real.push(t.bytes);
        }
    }
    let facts = RoleFacts::of(&target);
    let corpus = corpus(target.id(), b.id(), &facts, real);
    let mut core = target;
    let mut rng = StdRng::seed_from_u64(seed);

    let mut failures: Vec<String> = Vec::new();
    let mut failure_count = 0usize;
    let mut fail = |case: usize, epoch: usize, what: String, input: &[u8]| {
        failure_count += 1;
        if failures.len() < SHOWN_FAILURES {
            failures.push(format!(
                "case {case} (core rebuilt at case {epoch}): {what}\n    input ({} bytes): {}",
                input.len(),
                hex(input)
            ));
        }
    };
    let mut tallies = [
        (Origin::Random, Tally::default()),
        (Origin::RandomBody, Tally::default()),
        (Origin::Mutated, Tally::default()),
    ];
    let mut reached = Reached::default();
    let mut now = start;
    let mut epoch = 0;
    let rebuild = || {
        let target = joined_target(base);
        assert_eq!(target.now, start, "the target is rebuilt the same way");
        target.a
    };

    for case in 0..cases {
        if case % RESET_EVERY == 0 && case > 0 {
            now = start;
            epoch = case;
            core = rebuild();
        } else if case % TICK_EVERY == 0 && case > 0 {
            now += TICK;
            core.handle_timeout(now);
            drain(&mut core);
        }
        let (origin, input) = generate(&mut rng, &corpus);
        let tally = &mut tallies
            .iter_mut()
            .find(|(o, _)| *o == origin)
            .expect("every origin is tallied")
            .1;
        tally.fed += 1;

        let verdict = match catch_unwind(AssertUnwindSafe(|| run_decoders(&input, &mut rng))) {
            Ok(Ok(verdict)) => verdict,
            Ok(Err(what)) => {
                fail(case, epoch, format!("decoder: {what}"), &input);
                continue;
            }
            Err(panic) => {
                let what = format!("a decoder panicked: {}", panic_message(&*panic));
                fail(case, epoch, what, &input);
                continue;
            }
        };

        let before = observe(&core);
        let stats_before = core.stats().clone();
        let handled = catch_unwind(AssertUnwindSafe(|| {
            core.handle_datagram(now, local(B_PORT), &input);
        }));
        if let Err(panic) = handled {
            let what = format!("the core panicked: {}", panic_message(&*panic));
            fail(case, epoch, what, &input);
            now = start;
            epoch = case + 1;
            core = rebuild();
            continue;
        }
        let output = drain(&mut core);
        let after = observe(&core);
        let grew: Vec<bool> = rejected(&stats_before)
            .iter()
            .zip(rejected(core.stats()))
            .map(|(before, after)| after > *before)
            .collect();
        let [oversized, envelope, malformed, by_swim] = [grew[0], grew[1], grew[2], grew[3]];

        let core_verdict = match (oversized, envelope, malformed) {
            (true, false, false) => Verdict::Oversized,
            (false, true, false) => Verdict::Envelope,
            (false, false, true) => Verdict::Malformed,
            (false, false, false) => Verdict::Parses,
            _ => {
                fail(case, epoch, format!("counted twice: {grew:?}"), &input);
                continue;
            }
        };
        if core_verdict != verdict {
            let what = format!("the decoders say {verdict:?}, the core says {core_verdict:?}");
            fail(case, epoch, what, &input);
        }

        if grew.contains(&true) {
            tally.rejected += 1;
            tally.oversized += usize::from(oversized);
            tally.envelope += usize::from(envelope);
            tally.malformed += usize::from(malformed);
            tally.by_swim += usize::from(by_swim);
            if let Some(yet) = rejected_yet(&before, &after, &output) {
                fail(
                    case,
                    epoch,
                    format!("rejected (counters {grew:?}) {yet}"),
                    &input,
                );
            }
        } else {
            tally.accepted += 1;
            tally.effective += usize::from(after != before || !output.is_empty());
            reached.record(&input);
            if origin == Origin::Random && verdict != Verdict::Parses {
                fail(case, epoch, "random bytes were not rejected".into(), &input);
            }
        }
    }

    for (origin, tally) in &tallies {
        eprintln!("wire fuzz: {origin:?}: {tally:?}");
    }
    eprintln!("wire fuzz: accepted polity messages: {reached:?}");
    eprintln!("wire fuzz: {failure_count} failure(s)");
    assert!(
        failures.is_empty(),
        "{failure_count} failure(s); replay with {replay}\n{}",
        failures.join("\n")
    );

    let [(_, random), (_, random_body), (_, mutated)] = &tallies;
    assert!(
        random.fed + random_body.fed + mutated.fed == cases,
        "every case was fed"
    );
    // Random bytes carry the magic, version and kind by chance once in 2^23 tries; such
    // a datagram may parse, and is counted as accepted above only if the decoders agree.
    assert!(
        random.accepted <= random.fed / 1000,
        "random bytes accepted: {random:?}"
    );
    if cases >= 10_000 {
        assert!(
            random_body.rejected * 10 >= random_body.fed * 9,
            "{random_body:?}"
        );
        // Most mutants are refused, but enough get through to reach foca and the core.
        assert!(mutated.rejected * 2 >= mutated.fed, "{mutated:?}");
        assert!(mutated.malformed * 5 >= mutated.fed * 2, "{mutated:?}");
        assert!(mutated.accepted * 25 >= mutated.fed, "{mutated:?}");
        assert!(mutated.effective * 250 >= mutated.fed, "{mutated:?}");
        // Mutants of every polity message and announcement got through to the core.
        assert!(!reached.bodies.contains(&0), "{reached:?}");
        assert!(!reached.announcements.contains(&0), "{reached:?}");
    }
}
