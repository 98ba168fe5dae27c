//! Security settings: which listener speaks which security protocol (Kafka's
//! `listener.security.protocol.map`), TLS files, SASL mechanisms and
//! bootstrap users, and the authorizer. Resolved from the same layers as the
//! rest of the config; every problem names its key.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::{problem, ConfigError, Listener, Overrides};
use crate::auth::principal_mapping::PrincipalMapper;
use crate::auth::sasl::Mechanism;
use crate::auth::scram::{MAX_ITERATIONS, MIN_ITERATIONS};

/// Kafka's `connection.failed.authentication.delay.ms` default.
pub const DEFAULT_FAILED_AUTHENTICATION_DELAY_MS: u64 = 100;
/// Time a new connection has to finish its TLS handshake and SASL
/// authentication. Kafka has no such limit (only `connections.max.idle.ms`,
/// 10 minutes); a shorter one keeps half-open handshakes from holding
/// connection slots.
pub const DEFAULT_AUTHENTICATION_TIMEOUT_MS: u64 = 10_000;
/// Failed authentications one client address may have per minute before
/// its further attempts are refused without checking the password.
pub const DEFAULT_MAX_FAILED_AUTHENTICATIONS_PER_MINUTE: u32 = 30;
/// How often certificate files are checked for changes.
pub const DEFAULT_SSL_RELOAD_INTERVAL_MS: u64 = 60_000;

/// Kafka's security protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecurityProtocol {
    Plaintext,
    Ssl,
    SaslPlaintext,
    SaslSsl,
}

impl SecurityProtocol {
    const ALL: [SecurityProtocol; 4] = [Self::Plaintext, Self::Ssl, Self::SaslPlaintext, Self::SaslSsl];

    pub fn name(self) -> &'static str {
        match self {
            Self::Plaintext => "PLAINTEXT",
            Self::Ssl => "SSL",
            Self::SaslPlaintext => "SASL_PLAINTEXT",
            Self::SaslSsl => "SASL_SSL",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == name)
    }

    pub fn uses_tls(self) -> bool {
        matches!(self, Self::Ssl | Self::SaslSsl)
    }

    pub fn uses_sasl(self) -> bool {
        matches!(self, Self::SaslPlaintext | Self::SaslSsl)
    }
}

/// Kafka's `ssl.client.auth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    None,
    Requested,
    Required,
}

/// PEM files for TLS listeners.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsConfig {
    /// The server's certificate chain, leaf first.
    pub certificate_chain_file: PathBuf,
    pub private_key_file: PathBuf,
    /// CA certificates that client certificates must chain to.
    pub truststore_file: Option<PathBuf>,
    pub client_auth: ClientAuth,
    /// How often the files are checked for changes (0: never; SIGHUP always reloads).
    pub reload_interval_ms: u64,
}

/// A user created at startup (salted, then written to the metadata log).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaslUser {
    pub name: String,
    pub password: String,
}

impl std::fmt::Debug for SaslUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaslUser").field("name", &self.name).finish_non_exhaustive()
    }
}

/// Everything about who may connect and what they may do.
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityConfig {
    /// Security protocol of each listener, by listener name.
    pub listener_protocols: BTreeMap<String, SecurityProtocol>,
    /// Needed once any listener uses SSL or SASL_SSL.
    pub tls: Option<TlsConfig>,
    /// Kafka's `sasl.enabled.mechanisms`, in the order given.
    pub sasl_mechanisms: Vec<Mechanism>,
    pub sasl_users: Vec<SaslUser>,
    /// Iterations of the SCRAM credentials made for `sasl_users`.
    pub scram_iterations: i32,
    /// Whether ACLs are enforced (Kafka: `authorizer.class.name` set to
    /// `StandardAuthorizer`). Off: every principal may do everything.
    pub authorizer: bool,
    /// Principals allowed everything, as "User:name" (Kafka: `super.users`).
    pub super_users: Vec<String>,
    /// Kafka's `ssl.principal.mapping.rules`: SSL certificate subjects to principal names.
    pub principal_mapper: PrincipalMapper,
    /// Kafka's `allow.everyone.if.no.acl.found`.
    pub allow_everyone_if_no_acl_found: bool,
    pub failed_authentication_delay_ms: u64,
    pub max_failed_authentications_per_minute: u32,
    pub authentication_timeout_ms: u64,
    /// Kafka's `connections.max.reauth.ms`; 0 keeps sessions forever.
    pub connections_max_reauth_ms: i64,
}

impl SecurityConfig {
    pub fn protocol_of(&self, listener: &str) -> SecurityProtocol {
        self.listener_protocols.get(listener).copied().unwrap_or(SecurityProtocol::Plaintext)
    }
}

/// The YAML form of `sasl_users`: a list of `{name, password}`; the
/// environment form is `name:password,name:password`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum SaslUsers {
    List(Vec<SaslUser>),
    Text(String),
}

impl SaslUsers {
    fn users(&self) -> Result<Vec<SaslUser>, String> {
        match self {
            Self::List(users) => Ok(users.clone()),
            Self::Text(text) => text
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|item| {
                    let (name, password) = item.split_once(':').ok_or("each user is written name:password")?;
                    Ok(SaslUser { name: name.to_string(), password: password.to_string() })
                })
                .collect(),
        }
    }
}

/// Resolves the security settings; `origin` names the layer that set a key.
pub fn resolve(o: &Overrides, listeners: &[Listener], origin: &dyn Fn(fn(&Overrides) -> bool) -> String) -> Result<SecurityConfig, ConfigError> {
    let listener_protocols = match &o.listener_security_protocol_map {
        Some(text) => parse_protocol_map(text, listeners)
            .map_err(|p| problem(&origin(|o| o.listener_security_protocol_map.is_some()), "listener_security_protocol_map", p))?,
        // Without a map, as before security existed: a listener named after a
        // protocol speaks it, any other name is PLAINTEXT.
        None => listeners
            .iter()
            .map(|l| (l.name.clone(), SecurityProtocol::from_name(&l.name).unwrap_or(SecurityProtocol::Plaintext)))
            .collect(),
    };
    let needs_tls = listener_protocols.values().any(|p| p.uses_tls());
    let tls = resolve_tls(o, needs_tls, origin)?;
    let sasl_mechanisms = match &o.sasl_enabled_mechanisms {
        None => Mechanism::ALL.to_vec(),
        Some(text) => parse_mechanisms(text)
            .map_err(|p| problem(&origin(|o| o.sasl_enabled_mechanisms.is_some()), "sasl_enabled_mechanisms", p))?,
    };
    let users_origin = || origin(|o| o.sasl_users.is_some());
    let sasl_users = match &o.sasl_users {
        None => Vec::new(),
        Some(users) => users.users().map_err(|p| problem(&users_origin(), "sasl_users", p))?,
    };
    for user in &sasl_users {
        if user.name.is_empty() || user.password.is_empty() {
            return Err(problem(&users_origin(), "sasl_users", "every user needs a name and a password"));
        }
    }
    let scram_iterations = o.scram_iterations.unwrap_or(MIN_ITERATIONS);
    if !(MIN_ITERATIONS..=MAX_ITERATIONS).contains(&scram_iterations) {
        return Err(problem(
            &origin(|o| o.scram_iterations.is_some()),
            "scram_iterations",
            format!("must be between {MIN_ITERATIONS} and {MAX_ITERATIONS}, got {scram_iterations}"),
        ));
    }
    let authorizer = match o.authorizer.as_deref().unwrap_or("none") {
        "none" | "" => false,
        "standard" | "StandardAuthorizer" | "org.apache.kafka.metadata.authorizer.StandardAuthorizer" => true,
        other => {
            return Err(problem(&origin(|o| o.authorizer.is_some()), "authorizer", format!("must be none or standard, got {other:?}")));
        }
    };
    let super_users = match &o.super_users {
        None => Vec::new(),
        Some(text) => parse_super_users(text).map_err(|p| problem(&origin(|o| o.super_users.is_some()), "super_users", p))?,
    };
    let principal_mapper = match &o.ssl_principal_mapping_rules {
        None => PrincipalMapper::default(),
        Some(text) => PrincipalMapper::parse(text)
            .map_err(|p| problem(&origin(|o| o.ssl_principal_mapping_rules.is_some()), "ssl_principal_mapping_rules", p))?,
    };
    let connections_max_reauth_ms = o.connections_max_reauth_ms.unwrap_or(0);
    if connections_max_reauth_ms < 0 {
        return Err(problem(&origin(|o| o.connections_max_reauth_ms.is_some()), "connections_max_reauth_ms", "must be 0 or more"));
    }
    let authentication_timeout_ms = o.authentication_timeout_ms.unwrap_or(DEFAULT_AUTHENTICATION_TIMEOUT_MS);
    if authentication_timeout_ms == 0 {
        return Err(problem(&origin(|o| o.authentication_timeout_ms.is_some()), "authentication_timeout_ms", "must be at least 1"));
    }
    Ok(SecurityConfig {
        listener_protocols,
        tls,
        sasl_mechanisms,
        sasl_users,
        scram_iterations,
        authorizer,
        super_users,
        principal_mapper,
        allow_everyone_if_no_acl_found: o.allow_everyone_if_no_acl_found.unwrap_or(false),
        failed_authentication_delay_ms: o.connection_failed_authentication_delay_ms.unwrap_or(DEFAULT_FAILED_AUTHENTICATION_DELAY_MS),
        max_failed_authentications_per_minute: o
            .max_failed_authentications_per_minute
            .unwrap_or(DEFAULT_MAX_FAILED_AUTHENTICATIONS_PER_MINUTE),
        authentication_timeout_ms,
        connections_max_reauth_ms,
    })
}

fn resolve_tls(o: &Overrides, needed: bool, origin: &dyn Fn(fn(&Overrides) -> bool) -> String) -> Result<Option<TlsConfig>, ConfigError> {
    let (Some(chain), Some(key)) = (&o.ssl_certificate_chain_file, &o.ssl_private_key_file) else {
        if needed {
            let src = origin(|o| o.listener_security_protocol_map.is_some() || o.listeners.is_some());
            return Err(problem(
                &src,
                "ssl_certificate_chain_file",
                "an SSL or SASL_SSL listener needs ssl_certificate_chain_file and ssl_private_key_file",
            ));
        }
        return Ok(None);
    };
    let client_auth_src = || origin(|o| o.ssl_client_auth.is_some());
    let client_auth = match o.ssl_client_auth.as_deref().unwrap_or("none") {
        "none" => ClientAuth::None,
        "requested" => ClientAuth::Requested,
        "required" => ClientAuth::Required,
        other => return Err(problem(&client_auth_src(), "ssl_client_auth", format!("must be none, requested or required, got {other:?}"))),
    };
    if client_auth != ClientAuth::None && o.ssl_truststore_file.is_none() {
        return Err(problem(&client_auth_src(), "ssl_client_auth", "checking client certificates needs ssl_truststore_file"));
    }
    Ok(Some(TlsConfig {
        certificate_chain_file: chain.clone(),
        private_key_file: key.clone(),
        truststore_file: o.ssl_truststore_file.clone(),
        client_auth,
        reload_interval_ms: o.ssl_reload_interval_ms.unwrap_or(DEFAULT_SSL_RELOAD_INTERVAL_MS),
    }))
}

/// `LISTENER:PROTOCOL,...`; every listener must be mapped.
fn parse_protocol_map(text: &str, listeners: &[Listener]) -> Result<BTreeMap<String, SecurityProtocol>, String> {
    let mut map = BTreeMap::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (name, protocol) = item.split_once(':').ok_or_else(|| format!("{item:?} is not of the form LISTENER:PROTOCOL"))?;
        let protocol = SecurityProtocol::from_name(protocol.trim())
            .ok_or_else(|| format!("{protocol:?} is not a security protocol (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL)"))?;
        if map.insert(name.trim().to_string(), protocol).is_some() {
            return Err(format!("listener {name} is mapped twice"));
        }
    }
    let mut out = BTreeMap::new();
    for l in listeners {
        // As in Kafka, a listener named after a protocol needs no entry.
        let protocol = map
            .get(&l.name)
            .copied()
            .or_else(|| SecurityProtocol::from_name(&l.name))
            .ok_or_else(|| format!("listener {} has no security protocol", l.name))?;
        out.insert(l.name.clone(), protocol);
    }
    Ok(out)
}

fn parse_mechanisms(text: &str) -> Result<Vec<Mechanism>, String> {
    let mut out = Vec::new();
    for name in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let mechanism = Mechanism::from_name(name)
            .ok_or_else(|| format!("{name:?} is not supported (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)"))?;
        if !out.contains(&mechanism) {
            out.push(mechanism);
        }
    }
    if out.is_empty() {
        return Err("at least one mechanism is needed".to_string());
    }
    Ok(out)
}

/// Kafka's `super.users`: `User:alice;User:bob`.
fn parse_super_users(text: &str) -> Result<Vec<String>, String> {
    text.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|p| match p.split_once(':') {
            Some((kind, name)) if !kind.is_empty() && !name.is_empty() => Ok(p.to_string()),
            _ => Err(format!("{p:?} is not a principal of the form User:name")),
        })
        .collect()
}
