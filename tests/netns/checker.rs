//! The checker over CMD's logs.
//!
//! Each node's CMD appends lines `<uptime> <node> <term> start|tick|stop` to a log of its
//! own, where `<uptime>` is the first field of `/proc/uptime`: seconds of the machine's
//! boot-time clock, which is monotonic and the same in every network namespace, truncated
//! to centiseconds. Times here are whole centiseconds of that clock; the driver reads the
//! same clock when it injects a fault.
//!
//! A **run** is one execution of CMD: its `start` line, its ticks, and how it ended:
//!
//! - its `stop` line (SIGTERM, sent by `campaign` when the role is lost);
//! - the driver's SIGKILL of its node's `campaign` (CMD dies of its parent-death signal and
//!   writes nothing more): the later of the kill and its last line;
//! - still running, if its last line is fresh when the check runs: the check's time;
//! - none of these (killed by `campaign` after the grace period without running its
//!   trap): one tick period after its last line, and a note says so.
//!
//! A run is **active** from its start to its end, except while its node was paused by the
//! driver (SIGSTOP of `campaign` and of CMD's process group). After a pause CMD is active
//! again from the moment its group was resumed only if it writes a `tick`: a `stop` line
//! alone is CMD obeying the SIGTERM that `campaign` sent when it noticed, on resuming,
//! that its lease had run out. When the driver resumed `campaign` and CMD together, as a
//! paused host resumes, CMD can tick before that SIGTERM reaches it, which no lock
//! service can prevent: such ticks are reported as a finding, and the time CMD ran after
//! the resume is bounded, instead of counting as an overlap.
//!
//! What is checked:
//!
//! - no two runs on different nodes are active at overlapping times, beyond the clock's
//!   error of one centisecond (two readings in the same centisecond cannot be ordered);
//! - in order of start, terms strictly increase;
//! - every line belongs to a run that began with `start`, no line is written while its
//!   node is paused.

use std::collections::BTreeMap;

/// CMD sleeps this long between ticks, in centiseconds.
pub const TICK_CS: u64 = 5;

/// The clock's error: `/proc/uptime` is truncated to centiseconds.
pub const CLOCK_ERROR_CS: u64 = 1;

/// A run whose last line is at most this old is still running.
pub const FRESH_CS: u64 = 30;

/// How long CMD may run after its node resumed with it, when both were resumed
/// together: `campaign`'s reaction to its expired lease, the grace period (82.5 ms with
/// `lan`) and scheduling on a busy machine.
pub const RESUME_BOUND_CS: u64 = 30;

/// What a line records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Start,
    Tick,
    Stop,
}

/// One line of CMD's log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub at: u64,
    pub node: String,
    pub term: u64,
    pub kind: Kind,
}

/// Centiseconds from the first field of `/proc/uptime` (`12345.67`).
pub fn parse_uptime(field: &str) -> Option<u64> {
    let (seconds, fraction) = field.split_once('.')?;
    if fraction.len() != 2 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seconds: u64 = seconds.parse().ok()?;
    let centis: u64 = fraction.parse().ok()?;
    seconds.checked_mul(100)?.checked_add(centis)
}

/// The machine's boot-time clock now, in centiseconds, as CMD reads it.
pub fn uptime_now() -> u64 {
    let text = std::fs::read_to_string("/proc/uptime").expect("/proc/uptime is readable");
    let field = text.split_whitespace().next().unwrap_or_default();
    parse_uptime(field).unwrap_or_else(|| panic!("/proc/uptime reads {text:?}"))
}

/// The complete lines of a log; a last line without its newline is still being written
/// and is left for the next read.
pub fn parse_log(text: &str) -> Result<Vec<Line>, String> {
    let complete = match text.rfind('\n') {
        Some(end) => &text[..=end],
        None => "",
    };
    complete
        .lines()
        .map(|line| {
            let bad = || format!("a line that is not `<uptime> <node> <term> <kind>`: {line:?}");
            let fields: Vec<&str> = line.split(' ').collect();
            let [at, node, term, kind] = fields[..] else {
                return Err(bad());
            };
            Ok(Line {
                at: parse_uptime(at).ok_or_else(bad)?,
                node: node.to_owned(),
                term: term.parse().map_err(|_| bad())?,
                kind: match kind {
                    "start" => Kind::Start,
                    "tick" => Kind::Tick,
                    "stop" => Kind::Stop,
                    _ => return Err(bad()),
                },
            })
        })
        .collect()
}

/// What the driver did to the nodes, in the same clock.
#[derive(Clone, Debug, Default)]
pub struct Interventions {
    /// SIGKILL of a node's `campaign`: node, time.
    pub kills: Vec<(String, u64)>,
    pub pauses: Vec<Pause>,
}

/// A node paused with SIGSTOP (`campaign` and CMD's process group) and resumed.
#[derive(Clone, Debug)]
pub struct Pause {
    pub node: String,
    /// Read after both were stopped.
    pub stopped_at: u64,
    /// Read before CMD's process group was resumed.
    pub resumed_at: u64,
    /// `campaign` and CMD were resumed together, as a host resumes, rather than
    /// `campaign` first and CMD once `campaign` had signalled it.
    pub together: bool,
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    Stopped,
    Killed,
    Running,
    /// No stop line, no kill, no fresh line.
    Vanished,
}

/// One execution of CMD.
#[derive(Clone, Debug)]
pub struct Run {
    pub node: String,
    pub term: u64,
    pub start: u64,
    /// The last line's time.
    pub last: u64,
    pub end: u64,
    pub ending: Ending,
    /// The times CMD was active: `[from, to]`, in order.
    pub active: Vec<(u64, u64)>,
    /// Ticks written after a resume of its node, by pause.
    pub ticks_after_resume: Vec<(Pause, usize)>,
}

impl Run {
    /// The pauses after which CMD ticked although its host resumed it together with
    /// `campaign`: the pause, the ticks, and how long CMD ran after the resume.
    fn ticked_after_host_resumed(&self) -> impl Iterator<Item = (&Pause, usize, u64)> {
        self.ticks_after_resume
            .iter()
            .filter(|(pause, ticks)| pause.together && *ticks > 0)
            .map(|(pause, ticks)| (pause, *ticks, self.end.saturating_sub(pause.resumed_at)))
    }
}

/// Every run of every node, as of `now`.
#[derive(Debug)]
pub struct Timeline {
    /// In order of start.
    pub runs: Vec<Run>,
    /// Problems in the logs themselves: stray lines, lines written while paused.
    pub malformed: Vec<String>,
}

impl Timeline {
    /// Builds the runs from each node's log (`(node, log text)`).
    pub fn build(logs: &[(String, String)], done: &Interventions, now: u64) -> Self {
        let mut runs = Vec::new();
        let mut malformed = Vec::new();
        for (node, text) in logs {
            match parse_log(text) {
                Ok(lines) => node_runs(node, &lines, done, now, &mut runs, &mut malformed),
                Err(error) => malformed.push(format!("{node}: {error}")),
            }
        }
        runs.sort_by_key(|run| (run.start, run.term));
        Timeline { runs, malformed }
    }

    /// The runs still running.
    pub fn running(&self) -> Vec<&Run> {
        self.runs
            .iter()
            .filter(|run| run.ending == Ending::Running)
            .collect()
    }

    /// The first run that started at or after `at` on a node other than `node`, with a
    /// term above `term`.
    pub fn first_successor(&self, at: u64, node: &str, term: u64) -> Option<&Run> {
        self.runs
            .iter()
            .find(|run| run.start >= at && run.node != node && run.term > term)
    }

    /// The runs that started at or after `from` and before `to`, in order of start.
    pub fn started_within(&self, from: u64, to: u64) -> impl Iterator<Item = &Run> {
        self.runs
            .iter()
            .filter(move |run| run.start >= from && run.start < to)
    }

    /// Every broken rule, described with the runs involved.
    pub fn violations(&self) -> Vec<String> {
        let mut found = self.malformed.clone();
        for (i, a) in self.runs.iter().enumerate() {
            for b in &self.runs[i + 1..] {
                if a.node == b.node {
                    continue;
                }
                for &(a_from, a_to) in &a.active {
                    for &(b_from, b_to) in &b.active {
                        let from = a_from.max(b_from);
                        let to = a_to.min(b_to);
                        if to > from + CLOCK_ERROR_CS {
                            found.push(format!(
                                "overlap of {} cs: {} term {} active {a_from}..{a_to} and {} \
                                 term {} active {b_from}..{b_to}",
                                to - from,
                                a.node,
                                a.term,
                                b.node,
                                b.term
                            ));
                        }
                    }
                }
            }
        }
        for pair in self.runs.windows(2) {
            if pair[1].term <= pair[0].term {
                found.push(format!(
                    "terms do not increase: {} started term {} at {}, then {} term {} at {}",
                    pair[0].node,
                    pair[0].term,
                    pair[0].start,
                    pair[1].node,
                    pair[1].term,
                    pair[1].start
                ));
            }
        }
        for run in &self.runs {
            for (pause, _, ran) in run.ticked_after_host_resumed() {
                if ran > RESUME_BOUND_CS {
                    found.push(format!(
                        "{} term {} ran {ran} cs after its host resumed at {} (at most \
                         {RESUME_BOUND_CS})",
                        run.node, run.term, pause.resumed_at
                    ));
                }
            }
        }
        found
    }

    /// Facts worth reporting that break no rule.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        for run in &self.runs {
            if run.ending == Ending::Vanished {
                notes.push(format!(
                    "{} term {} ended without a stop line after {} (SIGKILL after the grace \
                     period?)",
                    run.node, run.term, run.last
                ));
            }
            for (pause, ticks, ran) in run.ticked_after_host_resumed() {
                notes.push(format!(
                    "{} term {} wrote {ticks} tick(s) after its host resumed at {}, while \
                     another node held the role, before its SIGTERM; it ended {ran} cs after \
                     the resume",
                    run.node, run.term, pause.resumed_at
                ));
            }
        }
        notes
    }
}

/// Splits one node's lines into runs.
fn node_runs(
    node: &str,
    lines: &[Line],
    done: &Interventions,
    now: u64,
    runs: &mut Vec<Run>,
    malformed: &mut Vec<String>,
) {
    // Each run's lines, in the order written.
    let mut grouped: Vec<Vec<&Line>> = Vec::new();
    for line in lines {
        if line.node != node {
            malformed.push(format!(
                "{node}'s log has a line of {}: {line:?}",
                line.node
            ));
            continue;
        }
        match grouped.last_mut() {
            Some(run) if line.kind != Kind::Start && run[0].term == line.term => {
                if run.last().is_some_and(|last| last.kind == Kind::Stop) {
                    malformed.push(format!("{node}: a line after its stop line: {line:?}"));
                }
                run.push(line);
            }
            _ if line.kind == Kind::Start => grouped.push(vec![line]),
            _ => malformed.push(format!("{node}: a line outside any run: {line:?}")),
        }
    }
    let starts: Vec<u64> = grouped.iter().map(|run| run[0].at).collect();
    for (i, lines) in grouped.iter().enumerate() {
        let start = lines[0].at;
        let last = lines.last().map_or(start, |line| line.at);
        let next_start = starts.get(i + 1).copied().unwrap_or(u64::MAX);
        let kill = done
            .kills
            .iter()
            .filter(|(killed, at)| killed == node && *at >= start && *at <= next_start)
            .map(|&(_, at)| at)
            .min();
        let stop = lines.iter().find(|line| line.kind == Kind::Stop);
        let (end, ending) = match (stop, kill) {
            (Some(stop), _) => (stop.at, Ending::Stopped),
            (None, Some(kill)) => (kill.max(last), Ending::Killed),
            (None, None) if i + 1 == grouped.len() && now <= last + FRESH_CS => {
                (now.max(last), Ending::Running)
            }
            (None, None) => (last + TICK_CS, Ending::Vanished),
        };
        let mut pauses: Vec<&Pause> = done
            .pauses
            .iter()
            .filter(|p| p.node == node && p.stopped_at >= start && p.stopped_at <= end)
            .collect();
        pauses.sort_by_key(|p| p.stopped_at);
        let mut active = Vec::new();
        let mut ticks_after_resume = Vec::new();
        let mut from = Some(start);
        for (k, &pause) in pauses.iter().enumerate() {
            if let Some(from) = from {
                active.push((from, pause.stopped_at));
            }
            for line in lines {
                if line.at > pause.stopped_at && line.at < pause.resumed_at {
                    malformed.push(format!("{node}: a line written while paused: {line:?}"));
                }
            }
            // When the node was next paused, or `end`: `pauses` holds every pause of the
            // node that began within the run, in order.
            let until = pauses[k + 1..]
                .iter()
                .map(|p| p.stopped_at)
                .find(|&at| at > pause.resumed_at)
                .unwrap_or(end);
            let ticks = lines
                .iter()
                .filter(|l| l.kind == Kind::Tick && l.at >= pause.resumed_at && l.at <= until)
                .count();
            ticks_after_resume.push((pause.clone(), ticks));
            from = (ticks > 0 && !pause.together).then_some(pause.resumed_at);
        }
        if let Some(from) = from {
            active.push((from, end));
        }
        runs.push(Run {
            node: node.to_owned(),
            term: lines[0].term,
            start,
            last,
            end,
            ending,
            active,
            ticks_after_resume,
        });
    }
}

/// The lines of every log merged in time order, for a failure report.
pub fn merged(logs: &[(String, String)]) -> String {
    let mut by_time: BTreeMap<(u64, usize), String> = BTreeMap::new();
    let mut n = 0;
    for (_, text) in logs {
        for line in text.lines() {
            let at = line
                .split(' ')
                .next()
                .and_then(parse_uptime)
                .unwrap_or_default();
            by_time.insert((at, n), line.to_owned());
            n += 1;
        }
    }
    by_time.into_values().map(|line| line + "\n").collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(lines: &[(u64, &str, u64, &str)]) -> String {
        lines
            .iter()
            .map(|(at, node, term, kind)| {
                format!("{}.{:02} {node} {term} {kind}\n", at / 100, at % 100)
            })
            .collect()
    }

    /// The timeline of nodes `n0` and `n1`, whose logs are `n0` and `n1`.
    fn two_nodes(n0: &str, n1: &str, done: &Interventions, now: u64) -> Timeline {
        let logs = [("n0", n0), ("n1", n1)].map(|(node, text)| (node.to_owned(), text.to_owned()));
        Timeline::build(&logs, done, now)
    }

    /// Asserts that `violations` is exactly one, which starts with `expected`.
    fn one_violation(violations: &[String], expected: &str) {
        assert!(
            violations.len() == 1 && violations[0].starts_with(expected),
            "expected one violation starting with {expected:?}: {violations:?}"
        );
    }

    #[test]
    fn uptime_fields_become_centiseconds() {
        assert_eq!(parse_uptime("16503.15"), Some(1_650_315));
        assert_eq!(parse_uptime("0.07"), Some(7));
        assert_eq!(parse_uptime("12.5"), None);
        assert_eq!(parse_uptime("x.10"), None);
    }

    #[test]
    fn a_partial_last_line_waits_and_a_bad_line_is_refused() {
        let lines = parse_log("10.00 n0 7 start\n10.05 n0 7 ti").unwrap();
        assert_eq!(lines.len(), 1);
        assert!(parse_log("10.00 n0 seven start\n").is_err());
    }

    #[test]
    fn a_handover_with_a_gap_passes_and_an_overlap_fails() {
        let a = log(&[(1000, "n0", 7, "start"), (1050, "n0", 7, "stop")]);
        let b = log(&[(1200, "n1", 9, "start"), (1205, "n1", 9, "tick")]);
        let ok = two_nodes(&a, &b, &Default::default(), 1210);
        let violations = ok.violations();
        assert!(violations.is_empty(), "{violations:?}");
        assert_eq!(ok.running().len(), 1);

        let late = log(&[(1000, "n0", 7, "start"), (1210, "n0", 7, "stop")]);
        let bad = two_nodes(&late, &b, &Default::default(), 1210);
        one_violation(
            &bad.violations(),
            "overlap of 10 cs: n0 term 7 active 1000..1210 and n1 term 9 active 1200..1210",
        );
    }

    #[test]
    fn readings_in_one_centisecond_are_not_an_overlap() {
        let a = log(&[(1000, "n0", 7, "start"), (1201, "n0", 7, "stop")]);
        let b = log(&[(1200, "n1", 9, "start")]);
        let violations = two_nodes(&a, &b, &Default::default(), 1201).violations();
        assert!(violations.is_empty(), "{violations:?}");
    }

    #[test]
    fn terms_must_increase_with_time() {
        let a = log(&[(1000, "n0", 9, "start"), (1050, "n0", 9, "stop")]);
        let b = log(&[(1200, "n1", 7, "start"), (1250, "n1", 7, "stop")]);
        one_violation(
            &two_nodes(&a, &b, &Default::default(), 1300).violations(),
            "terms do not increase: n0 started term 9 at 1000, then n1 term 7 at 1200",
        );
    }

    #[test]
    fn a_killed_run_ends_at_the_kill() {
        let a = log(&[(1000, "n0", 7, "start"), (1005, "n0", 7, "tick")]);
        let b = log(&[(1200, "n1", 9, "start")]);
        let mut done = Interventions::default();
        done.kills.push(("n0".into(), 1008));
        let timeline = two_nodes(&a, &b, &done, 1300);
        let violations = timeline.violations();
        assert!(violations.is_empty(), "{violations:?}");
        assert_eq!(timeline.runs[0].end, 1008);
        assert_eq!(timeline.runs[0].ending, Ending::Killed);

        done.kills[0].1 = 1250;
        one_violation(
            &two_nodes(&a, &b, &done, 1300).violations(),
            "overlap of 5 cs: n0 term 7 active 1000..1250 and n1 term 9 active 1200..1205",
        );
    }

    #[test]
    fn a_paused_run_overlaps_only_if_it_ticks_after_resuming() {
        let b = log(&[(1200, "n1", 9, "start"), (1400, "n1", 9, "tick")]);
        let quiet = log(&[(1000, "n0", 7, "start"), (1300, "n0", 7, "stop")]);
        let ticked = log(&[
            (1000, "n0", 7, "start"),
            (1301, "n0", 7, "tick"),
            (1305, "n0", 7, "stop"),
        ]);
        let check = |n0: &str, together| {
            let done = Interventions {
                kills: Vec::new(),
                pauses: vec![Pause {
                    node: "n0".into(),
                    stopped_at: 1010,
                    resumed_at: 1300,
                    together,
                }],
            };
            let timeline = two_nodes(n0, &b, &done, 1401);
            (timeline.violations(), timeline.notes())
        };
        let (violations, notes) = check(&quiet, false);
        assert!(
            violations.is_empty() && notes.is_empty(),
            "{violations:?} {notes:?}"
        );
        let (violations, _) = check(&ticked, false);
        one_violation(
            &violations,
            "overlap of 5 cs: n0 term 7 active 1300..1305 and n1 term 9 active 1200..1401",
        );
        let (violations, notes) = check(&ticked, true);
        assert!(violations.is_empty(), "{violations:?}");
        assert!(
            notes.len() == 1
                && notes[0].starts_with("n0 term 7 wrote 1 tick(s) after its host resumed at 1300")
                && notes[0].ends_with("it ended 5 cs after the resume"),
            "{notes:?}"
        );
    }
}
