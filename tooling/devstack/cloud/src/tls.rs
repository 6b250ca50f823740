//! TLS where a standard client refuses plain HTTP: managed login's
//! revocation endpoint. RFC 7009 says a client must check that it is
//! HTTPS, and Rust's `oauth2` (under `openidconnect`) refuses any other.
//! At each start an authority of the local cloud's own signs a
//! certificate for `127.0.0.1` and `localhost`; the endpoints file
//! carries the authority (`ca_certificate`, PEM) for a client to trust, as
//! users of a private CA trust theirs. The rest of the local cloud stays
//! plain HTTP, as docs/differences.md says.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// The local authority and what it signed for this start.
pub struct Tls {
    /// The authority's certificate, PEM: what a client trusts.
    pub ca_pem: String,
    acceptor: TlsAcceptor,
}

impl Tls {
    pub fn new() -> Result<Tls> {
        let ca_key = KeyPair::generate()?;
        let mut ca = CertificateParams::new(Vec::<String>::new())?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        (ca.distinguished_name).push(DnType::CommonName, "devstack local authority");
        let ca_cert = ca.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca, ca_key);
        let key = KeyPair::generate()?;
        let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])?;
        let cert = leaf.signed_by(&key, &issuer)?;
        let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(vec![CertificateDer::from(cert.der().to_vec())], private)
            .context("the local certificate")?;
        Ok(Tls {
            ca_pem: ca_cert.pem(),
            acceptor: TlsAcceptor::from(Arc::new(config)),
        })
    }

    /// `listener`'s connections, each once its handshake is done. Each
    /// handshake runs on its own, within [`HANDSHAKE`]: a client that
    /// connects and says nothing holds up no other.
    pub fn listener(&self, listener: TcpListener) -> Listener {
        let (done, ready) = tokio::sync::mpsc::channel(16);
        let acceptor = self.acceptor.clone();
        let local = listener.local_addr();
        tokio::spawn(async move {
            loop {
                let Ok((tcp, addr)) = listener.accept().await else {
                    // Out of descriptors, or reset before it was taken:
                    // the next one may do.
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                };
                let (acceptor, done) = (acceptor.clone(), done.clone());
                tokio::spawn(async move {
                    // A client that fails its handshake (one that does not
                    // trust the authority) is its own problem.
                    if let Ok(Ok(tls)) = tokio::time::timeout(HANDSHAKE, acceptor.accept(tcp)).await
                    {
                        let _ = done.send((tls, addr)).await;
                    }
                });
            }
        });
        Listener { ready, local }
    }
}

/// How long a client has to finish its TLS handshake.
const HANDSHAKE: std::time::Duration = std::time::Duration::from_secs(10);

/// Connections whose handshake is done, for `axum::serve`.
pub struct Listener {
    ready: tokio::sync::mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: std::io::Result<SocketAddr>,
}

impl axum::serve::Listener for Listener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accepting task ended (the runtime is shutting down):
            // nothing more will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        match &self.local {
            Ok(addr) => Ok(*addr),
            Err(e) => Err(std::io::Error::new(e.kind(), e.to_string())),
        }
    }
}
