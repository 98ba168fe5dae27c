//! TLS for SSL and SASL_SSL listeners, with rustls (ring provider): the server
//! certificate chain and key from PEM files, optional client certificates
//! checked against a CA file (Kafka's `ssl.client.auth`), and reloading when
//! the files change or on SIGHUP, without a restart: new connections use
//! the new files, open ones keep theirs. A failed reload keeps the old ones.
//!
//! An SSL client's principal is its certificate subject in RFC 4514 form,
//! "User:CN=client,OU=eng,O=Strom", as Kafka's default `ssl.principal.mapping.rules`
//! gives, or what the configured rules make of it (principal_mapping.rs);
//! without a certificate it is User:ANONYMOUS.

use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::UnixTime;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, OtherError, RootCertStore, ServerConfig, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

use crate::config::security::{ClientAuth, TlsConfig};

/// A TLS setup problem, naming the file.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct TlsError {
    pub path: String,
    pub problem: String,
}

fn fail(path: &Path, problem: impl std::fmt::Display) -> TlsError {
    TlsError { path: path.display().to_string(), problem: problem.to_string() }
}

/// The current TLS server setup, swapped on reload.
pub struct TlsSource {
    config: TlsConfig,
    current: RwLock<Arc<ServerConfig>>,
    /// Modification times of the files the current setup was read from.
    stamps: Mutex<Vec<Option<SystemTime>>>,
}

impl TlsSource {
    pub fn load(config: &TlsConfig) -> Result<Self, TlsError> {
        let stamps = file_stamps(config);
        let server = build(config)?;
        Ok(Self { config: config.clone(), current: RwLock::new(Arc::new(server)), stamps: Mutex::new(stamps) })
    }

    /// An acceptor with the current certificates.
    pub fn acceptor(&self) -> TlsAcceptor {
        let current = self.current.read().unwrap_or_else(|p| p.into_inner());
        TlsAcceptor::from(Arc::clone(&current))
    }

    pub fn reload_interval_ms(&self) -> u64 {
        self.config.reload_interval_ms
    }

    /// Reloads if any file's modification time changed.
    pub fn reload_if_changed(&self) {
        let now = file_stamps(&self.config);
        let changed = *self.stamps.lock().unwrap_or_else(|p| p.into_inner()) != now;
        if changed {
            self.reload();
        }
    }

    /// Reads the files again; on error the old setup stays.
    pub fn reload(&self) {
        let stamps = file_stamps(&self.config);
        match build(&self.config) {
            Ok(server) => {
                *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(server);
                tracing::info!(file = %self.config.certificate_chain_file.display(), "reloaded TLS certificates");
            }
            Err(error) => tracing::error!(%error, "cannot reload TLS certificates; keeping the old ones"),
        }
        // Also on failure: retry when the files change again, not every tick.
        *self.stamps.lock().unwrap_or_else(|p| p.into_inner()) = stamps;
    }
}

fn file_stamps(config: &TlsConfig) -> Vec<Option<SystemTime>> {
    let files = [Some(&config.certificate_chain_file), Some(&config.private_key_file), config.truststore_file.as_ref()];
    files
        .into_iter()
        .flatten()
        .map(|f| std::fs::metadata(f).and_then(|m| m.modified()).ok())
        .collect()
}

fn build(config: &TlsConfig) -> Result<ServerConfig, TlsError> {
    let chain_file = &config.certificate_chain_file;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(chain_file)
        .map_err(|e| fail(chain_file, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| fail(chain_file, e))?;
    if chain.is_empty() {
        return Err(fail(chain_file, "no CERTIFICATE in the file"));
    }
    let key_file = &config.private_key_file;
    let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| fail(key_file, e))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| fail(chain_file, e))?;
    let verifier = match (&config.truststore_file, config.client_auth) {
        (_, ClientAuth::None) | (None, _) => WebPkiClientVerifier::no_client_auth(),
        (Some(ca_file), auth) => {
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(ca_file).map_err(|e| fail(ca_file, e))? {
                roots.add(cert.map_err(|e| fail(ca_file, e))?).map_err(|e| fail(ca_file, e))?;
            }
            if roots.is_empty() {
                return Err(fail(ca_file, "no CERTIFICATE in the file"));
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider));
            let verifier = if auth == ClientAuth::Requested { verifier.allow_unauthenticated() } else { verifier };
            Arc::new(KafkaAlerts(verifier.build().map_err(|e| fail(ca_file, e))?))
        }
    };
    builder
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .map_err(|e| fail(key_file, format!("the key does not fit the certificate: {e}")))
}

/// Kafka's TLS stack (the JDK's) answers every client certificate it cannot
/// verify with a certificate_unknown alert, where rustls would name the check
/// that failed (unknown_ca, certificate_expired, ...). Clients show the alert
/// in their errors (Go: "tls: unknown certificate", OpenSSL:
/// "sslv3 alert certificate unknown", as Kafka 4.1 on JDK 17 gives them), so
/// strom sends Kafka's; the log keeps the real reason.
#[derive(Debug)]
struct KafkaAlerts(Arc<dyn ClientCertVerifier>);

/// The same rejection, carried so that rustls sends certificate_unknown.
fn certificate_unknown(error: rustls::Error) -> rustls::Error {
    match error {
        rustls::Error::InvalidCertificate(CertificateError::Other(_)) => error,
        rustls::Error::InvalidCertificate(reason) => {
            rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(Rejected(reason)))))
        }
        other => other,
    }
}

/// A certificate error shown as itself inside `CertificateError::Other`.
struct Rejected(CertificateError);

/// A failed TLS handshake for the log, as rustls describes it without
/// [`KafkaAlerts`]'s wrapping: "invalid peer certificate: UnknownIssuer".
pub fn handshake_error(error: &std::io::Error) -> String {
    let rejected = error.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()).and_then(|e| match e {
        rustls::Error::InvalidCertificate(CertificateError::Other(other)) => other.0.downcast_ref::<Rejected>(),
        _ => None,
    });
    match rejected {
        Some(Rejected(reason)) => rustls::Error::InvalidCertificate(reason.clone()).to_string(),
        None => error.to_string(),
    }
}

impl std::fmt::Debug for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::error::Error for Rejected {}

impl ClientCertVerifier for KafkaAlerts {
    fn offer_client_auth(&self) -> bool {
        self.0.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.0.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.0.root_hint_subjects()
    }

    fn verify_client_cert(&self, end_entity: &CertificateDer<'_>, intermediates: &[CertificateDer<'_>], now: UnixTime) -> Result<ClientCertVerified, rustls::Error> {
        self.0.verify_client_cert(end_entity, intermediates, now).map_err(certificate_unknown)
    }

    fn verify_tls12_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(&self, message: &[u8], cert: &CertificateDer<'_>, dss: &DigitallySignedStruct) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// The subject of a DER certificate in RFC 4514 form (what Java's
/// `X500Principal.getName()` gives), e.g. "CN=client,OU=eng,O=Strom".
pub fn certificate_subject(der: &[u8]) -> Option<String> {
    use x509_cert::der::Decode;
    let cert = x509_cert::Certificate::from_der(der).ok()?;
    Some(cert.tbs_certificate.subject.to_string())
}

#[cfg(test)]
mod tests {
    use rustls::AlertDescription;

    use super::*;

    /// The alert rustls sends for a rejected client certificate (its
    /// `send_cert_verify_error_alert`).
    fn alert(error: &rustls::Error) -> AlertDescription {
        match error {
            rustls::Error::InvalidCertificate(e) => e.clone().into(),
            _ => AlertDescription::HandshakeFailure,
        }
    }

    #[test]
    fn every_rejected_client_certificate_gets_certificate_unknown_as_from_kafka() {
        for reason in [CertificateError::UnknownIssuer, CertificateError::Expired, CertificateError::BadEncoding, CertificateError::InvalidPurpose, CertificateError::Revoked] {
            let original = rustls::Error::InvalidCertificate(reason.clone());
            assert_ne!(alert(&original), AlertDescription::CertificateUnknown, "{reason:?}");
            let mapped = certificate_unknown(original.clone());
            assert_eq!(alert(&mapped), AlertDescription::CertificateUnknown, "{reason:?}");
            // The log names the reason as rustls would.
            let io = std::io::Error::new(std::io::ErrorKind::InvalidData, mapped);
            assert_eq!(handshake_error(&io), original.to_string());
        }
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, certificate_unknown(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)));
        assert_eq!(handshake_error(&io), "invalid peer certificate: UnknownIssuer");
    }

    #[test]
    fn other_handshake_errors_are_logged_as_they_are() {
        for error in [std::io::Error::new(std::io::ErrorKind::InvalidData, rustls::Error::General("x".into())), std::io::Error::from(std::io::ErrorKind::UnexpectedEof)] {
            assert_eq!(handshake_error(&error), error.to_string());
        }
    }

    #[test]
    fn other_errors_pass_unchanged() {
        let error = certificate_unknown(rustls::Error::General("x".into()));
        assert_eq!(error, rustls::Error::General("x".into()));
        assert_eq!(alert(&error), AlertDescription::HandshakeFailure);
    }
}
