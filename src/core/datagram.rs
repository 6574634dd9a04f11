//! Datagrams in and out of the core: opening (seal, envelope), checking and routing what
//! arrives, counting what is refused, and sealing and queueing what leaves.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand::RngExt;

use super::{Core, Transmit};
use crate::wire::{self, Body, Kind, PolityMessage, WireError};

impl Core {
    /// Feeds one received datagram. Anything malformed is dropped and counted, and
    /// changes nothing else.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        self.stats.datagrams_received += 1;
        if self.left {
            self.stats.ignored_after_leave += 1;
            return;
        }
        self.expire_roles(now);
        if let Err(error) = self.unseal(datagram).and_then(|plain| match plain {
            Some(plain) => self.accept(now, &plain),
            None => self.accept(now, datagram),
        }) {
            self.reject(now, from, &error);
        }
        self.drain(now);
    }

    /// Opens a sealed datagram, when this node has a keyring; `None` when it has none.
    /// Nothing is parsed before the seal is verified.
    pub(super) fn unseal(&self, datagram: &[u8]) -> Result<Option<Vec<u8>>, WireError> {
        let Some(keyring) = &self.config.keyring else {
            return Ok(None);
        };
        if datagram.len() > self.config.max_datagram_size {
            return Err(WireError::Oversized {
                len: datagram.len(),
                max: self.config.max_datagram_size,
            });
        }
        keyring
            .open(datagram, self.config.cluster_label.as_bytes())
            .map(Some)
    }

    pub(super) fn accept(&mut self, now: Instant, datagram: &[u8]) -> Result<(), WireError> {
        let (kind, body) = wire::open(datagram, self.config.max_datagram_size)?;
        match kind {
            Kind::Swim => {
                let header = wire::check_swim_packet(body)?;
                if wire::indirect_subject(&header) == Some(&self.id) {
                    self.stats.rejected_by_swim += 1;
                    return Ok(());
                }
                if let Err(error) = self.swim.handle_data(body, &mut self.runtime) {
                    self.stats.rejected_by_swim += 1;
                    tracing::trace!(%error, "swim packet refused");
                }
            }
            Kind::Polity => {
                let message: PolityMessage = wire::decode_exact(body)?;
                if message.from == self.id {
                    self.stats.rejected_by_swim += 1;
                    return Ok(());
                }
                if !self.replays.fresh(&message.from, message.clock) {
                    self.stats.rejected_replayed += 1;
                    return Ok(());
                }
                self.clock.witness(message.clock);
                let from = message.from;
                tracing::trace!(from = %from.name(), body = ?message.body, "received");
                match message.body {
                    Body::Announce(announcement) => self.broadcast(now, &announcement),
                    body @ (Body::KeyRequest { .. } | Body::KeyReply { .. }) => {
                        self.on_key_message(&from, body);
                    }
                    body => self.with_roles(now, |roles, ctx, out| {
                        roles.on_message(ctx, out, &from, body);
                    }),
                }
            }
        }
        Ok(())
    }

    pub(super) fn reject(&mut self, now: Instant, from: SocketAddr, error: &WireError) {
        match error {
            WireError::Oversized { .. } => self.stats.rejected_oversized += 1,
            WireError::Unsealed => self.stats.rejected_unsealed += 1,
            WireError::TooShort { .. }
            | WireError::BadMagic
            | WireError::UnsupportedVersion { .. }
            | WireError::UnknownKind { .. } => self.stats.rejected_envelope += 1,
            _ => self.stats.rejected_malformed += 1,
        }
        let quiet = self
            .last_reject_log
            .is_some_and(|last| now.saturating_duration_since(last) < Duration::from_secs(1));
        if !quiet {
            self.last_reject_log = Some(now);
            tracing::warn!(%from, %error, "dropped a bad datagram (logged at most once a second)");
        }
    }

    pub(super) fn send_message(&mut self, to: SocketAddr, body: Body) {
        tracing::trace!(%to, ?body, "sending");
        // The clock ticks on every send, so each message's time is unique to this
        // sender and receivers can refuse replays.
        let message = PolityMessage {
            from: self.id.clone(),
            clock: self.clock.increment(),
            body,
        };
        let mut bytes = Vec::new();
        wire::write_envelope(Kind::Polity, &mut bytes);
        match wire::encode_into(&message, &mut bytes) {
            Ok(()) => self.push_transmit(to, bytes),
            Err(error) => tracing::error!(%error, "cannot encode a message"),
        }
    }

    pub(super) fn push_transmit(&mut self, to: SocketAddr, bytes: Vec<u8>) {
        self.stats.datagrams_sent += 1;
        let bytes = match &self.config.keyring {
            Some(keyring) => {
                let mut sealed = Vec::with_capacity(bytes.len() + wire::SEAL_OVERHEAD);
                let nonce = self.nonces.random::<[u8; wire::NONCE_LEN]>();
                keyring.seal(
                    &bytes,
                    self.config.cluster_label.as_bytes(),
                    nonce,
                    &mut sealed,
                );
                sealed
            }
            None => bytes,
        };
        self.transmits.push_back(Transmit { to, bytes });
    }
}
