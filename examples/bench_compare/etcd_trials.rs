//! The timed trials of etcd: failover and handoff of `etcdctl elect`, and election
//! latency through the JSON gateway.

use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::Result;
use crate::etcd_cluster::Etcd;
use crate::http::{self, post};
use crate::proc::Proc;
use crate::wait::wait_until;

/// etcd: `etcdctl elect` holders killed with -9 while a second `etcdctl elect` waits for
/// each; time until the waiter prints that it is elected. The trials run at once, each
/// on its own election name, since each takes the session's TTL (60 s).
pub fn etcd_failover(etcd: &Etcd, trials: usize) -> Result<Vec<Duration>> {
    let mut holders = Vec::new();
    for k in 0..trials {
        let h = etcd.elect(
            k,
            &format!("failover-{k}"),
            &format!("holder-{k}"),
            &format!("fo-holder-{k}"),
        )?;
        h.wait_line(Duration::from_secs(30), |l| {
            l.contains(&format!("failover-{k}/"))
        })?;
        holders.push(h);
    }
    let mut waiters = Vec::new();
    for k in 0..trials {
        waiters.push(etcd.elect(
            k + 1,
            &format!("failover-{k}"),
            &format!("waiter-{k}"),
            &format!("fo-waiter-{k}"),
        )?);
    }
    thread::sleep(Duration::from_secs(3));
    let killed: Vec<Instant> = holders.iter_mut().map(Proc::kill9).collect();
    let mut samples = Vec::new();
    for (k, w) in waiters.iter().enumerate() {
        let (at, _) = w
            .wait_line(Duration::from_secs(180), |l| {
                l.contains(&format!("failover-{k}/"))
            })
            .map_err(|e| format!("etcd failover {k}: {e}"))?;
        samples.push(at - killed[k]);
    }
    Ok(samples)
}

/// How long an `etcdctl elect` that has started to wait keeps waiting before the holder
/// resigns. One just started takes over more slowly: on two cores, resigning as soon as
/// its watch was there gave 5 to 55 ms (p50 10 ms, 8 trials), 100 ms later 5 to 9 ms,
/// 300 ms later 4 to 7 ms. The handoff measured is the one to a candidate that has been
/// waiting, as a standby does; on a machine where that slowness lasts longer than this,
/// it shows in the samples.
const WAITER_WARM_UP: Duration = Duration::from_millis(500);

/// etcd handoff: SIGINT to the `etcdctl elect` holding the election (it resigns and
/// exits) while a second one waits; time until the waiter prints that it is elected.
pub fn etcd_handoff(etcd: &Etcd, trials: usize) -> Result<Vec<Duration>> {
    let name = "handoff";
    let mut holder = etcd.elect(0, name, "p-0", "handoff-0")?;
    holder.wait_line(Duration::from_secs(30), |l| l.starts_with("handoff/"))?;
    let mut samples = Vec::new();
    for trial in 0..trials {
        let member = trial + 1;
        let watching = etcd.watchers(member)?;
        let waiter = etcd.elect(
            member,
            name,
            &format!("p-{}", trial + 1),
            &format!("handoff-{}", trial + 1),
        )?;
        // `etcdctl elect` prints nothing until it is elected. Its key under the election's
        // prefix is put before it watches the holder's; resigning in between would time
        // the setting up of that watch too. A watch more on its member says it waits.
        wait_until(Duration::from_secs(30), "etcdctl elect to watch", || {
            etcd.watchers(member).is_ok_and(|n| n > watching)
        })?;
        thread::sleep(WAITER_WARM_UP);
        let resigned_at = holder.signal(Signal::SIGINT);
        let (won_at, _) = waiter
            .wait_line(Duration::from_secs(30), |l| l.starts_with("handoff/"))
            .map_err(|e| format!("etcd handoff trial {trial}: {e}"))?;
        samples.push(won_at - resigned_at);
        holder.wait_exit()?;
        holder = waiter;
    }
    Ok(samples)
}

fn b64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// etcd election latency through its JSON gateway, as for polity's API: one session
/// lease (60 s TTL, as etcdctl's), then `POST /v3/election/campaign` for a new name
/// each time, resigned afterwards (not timed).
pub fn etcd_elections(etcd: &Etcd, n: usize) -> Result<Vec<Duration>> {
    let client = http::client();
    let base = &etcd.clients[0];
    let (status, body) = post(&client, &format!("{base}/v3/lease/grant"), r#"{"TTL":60}"#)?;
    let v: serde_json::Value =
        serde_json::from_str(&body).map_err(|e| format!("{status} {body}: {e}"))?;
    let lease = v["ID"]
        .as_str()
        .ok_or(format!("lease grant: {status} {body}"))?
        .to_string();
    let mut samples = Vec::new();
    for i in 0..n {
        let req = format!(
            r#"{{"name":"{}","lease":"{lease}","value":"{}"}}"#,
            b64(&format!("e-{i}")),
            b64("bench")
        );
        let started = Instant::now();
        let (status, body) = post(&client, &format!("{base}/v3/election/campaign"), &req)?;
        let took = started.elapsed();
        let v: serde_json::Value =
            serde_json::from_str(&body).map_err(|e| format!("{status} {body}: {e}"))?;
        if status != 200 || v["leader"].is_null() {
            return Err(format!("etcd election {i}: {status} {body}"));
        }
        samples.push(took);
        let resign = serde_json::json!({ "leader": v["leader"] }).to_string();
        post(&client, &format!("{base}/v3/election/resign"), &resign)?;
    }
    Ok(samples)
}
