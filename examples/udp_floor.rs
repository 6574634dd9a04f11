//! The least CPU a holder can use on loopback while it renews as DESIGN section 4 asks:
//! one datagram to each of `VOTERS` voter processes every `INTERVAL_MS`, and one answer
//! from each, with no protocol at all around them. On loopback the sender's system time
//! also pays for delivering each datagram and waking its receiver.
//!
//! Usage: `cargo run --release --example udp_floor -- [VOTERS] [INTERVAL_MS] [SECS]`
//! (defaults 49, 300 and 60: the holder of the 50-node idle benchmark with `lan`).
//! Prints the sender's time on a CPU as a share of one core, from
//! `/proc/self/schedstat` (exact, where `/proc/PID/stat` counts 10 ms ticks); Linux only.

use std::error::Error;
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Sizes of a renewal and of its answer, in bytes: of the order of polity's for one role
/// (on loopback the cost hardly depends on the size).
const RENEWAL_LEN: usize = 120;
const ANSWER_LEN: usize = 40;
const VOTER_PATIENCE: Duration = Duration::from_secs(5);

/// The voters: each answers every datagram it gets, until killed or left without a
/// datagram for `VOTER_PATIENCE` (so none outlives a sender that was killed).
struct Voters(Vec<Child>);

impl Drop for Voters {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn answer_forever() -> Result<(), Box<dyn Error>> {
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    socket.set_read_timeout(Some(VOTER_PATIENCE))?;
    println!("{}", socket.local_addr()?);
    let mut buf = [0u8; 2048];
    loop {
        let (_, from) = socket.recv_from(&mut buf)?;
        socket.send_to(&buf[..ANSWER_LEN], from)?;
    }
}

fn spawn_voters(n: usize) -> Result<(Voters, Vec<SocketAddr>), Box<dyn Error>> {
    let exe = std::env::current_exe()?;
    let mut voters = Voters(Vec::new());
    let mut addrs = Vec::new();
    for _ in 0..n {
        let mut child = Command::new(&exe)
            .arg("--answer")
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("voter without stdout")?;
        voters.0.push(child);
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        addrs.push(line.trim().parse()?);
    }
    Ok((voters, addrs))
}

/// This process's time on a CPU so far, in nanoseconds (exact, not sampled in ticks).
fn cpu_nanos() -> Result<u64, Box<dyn Error>> {
    let schedstat = std::fs::read_to_string("/proc/self/schedstat")?;
    let first = schedstat
        .split_whitespace()
        .next()
        .ok_or("empty schedstat")?;
    Ok(first.parse()?)
}

fn number(arg: Option<String>, default: u64) -> Result<u64, Box<dyn Error>> {
    match arg {
        Some(s) => Ok(s.parse().map_err(|e| format!("{s}: {e}"))?),
        None => Ok(default),
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let first = args.next();
    if first.as_deref() == Some("--answer") {
        return answer_forever();
    }
    let voters = usize::try_from(number(first, 49)?)?;
    let interval = Duration::from_millis(number(args.next(), 300)?);
    let secs = number(args.next(), 60)?;
    if interval.is_zero() || secs == 0 {
        return Err("INTERVAL_MS and SECS must be above zero".into());
    }

    let (_voters, addrs) = spawn_voters(voters)?;
    let socket = UdpSocket::bind("127.0.0.1:0")?;
    let renewal = [0u8; RENEWAL_LEN];
    let mut buf = [0u8; 2048];
    let (mut sent, mut answers) = (0u64, 0u64);
    let nanos0 = cpu_nanos()?;
    let start = Instant::now();
    let end = start + Duration::from_secs(secs);
    let mut next = start;
    while next < end {
        for addr in &addrs {
            socket.send_to(&renewal, addr)?;
            sent += 1;
        }
        next += interval;
        while let Some(left) = next.checked_duration_since(Instant::now()) {
            if left.is_zero() {
                break;
            }
            socket.set_read_timeout(Some(left))?;
            if socket.recv_from(&mut buf).is_ok() {
                answers += 1;
            }
        }
    }
    let nanos = cpu_nanos()? - nanos0;
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "{voters} voters every {} ms for {elapsed:.0} s: {:.0} datagrams/s sent, \
         {:.0}/s answers; sender {:.3}% of one core",
        interval.as_millis(),
        sent as f64 / elapsed,
        answers as f64 / elapsed,
        nanos as f64 / 1e9 / elapsed * 100.0,
    );
    Ok(())
}
