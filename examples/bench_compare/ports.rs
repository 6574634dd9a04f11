//! Loopback ports for the processes to listen on.

use std::net::{TcpListener, UdpSocket};

use crate::Result;

/// `n` distinct ports free for both UDP and TCP (serf listens on both; polity's agents
/// take UDP, etcd TCP). Every socket stays open until all are found, so no port is
/// handed out twice.
pub fn free_ports(n: usize) -> Result<Vec<u16>> {
    let mut held = Vec::new();
    let mut ports = Vec::new();
    let mut tries = 0;
    while ports.len() < n {
        tries += 1;
        if tries > 100 * n + 100 {
            return Err("not enough ports free for both UDP and TCP".into());
        }
        let udp = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let port = udp.local_addr().map_err(|e| e.to_string())?.port();
        if let Ok(tcp) = TcpListener::bind(("127.0.0.1", port)) {
            held.push((udp, tcp));
            ports.push(port);
        }
    }
    Ok(ports)
}
