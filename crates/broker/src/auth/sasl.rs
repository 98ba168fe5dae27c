//! SASL mechanisms Strom serves: PLAIN (RFC 4616) and SCRAM-SHA-256/512.
//! One [`Exchange`] per authentication; it only sees tokens and credentials,
//! never the network. PLAIN passwords are checked against the stored SCRAM
//! credentials (salted), so no password is ever stored in plain text; a user
//! needs a SCRAM credential to log in with PLAIN.

use super::scram::{ScramCredential, ScramMechanism, ScramServer, Step};

/// A failed authentication: what the client is told (Kafka's wording) and,
/// for the broker's log only, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthFailure {
    pub message: String,
    pub reason: String,
}

impl AuthFailure {
    pub fn new(message: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { message: message.into(), reason: reason.into() }
    }
}

/// A SASL mechanism Strom can serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mechanism {
    Plain,
    Scram(ScramMechanism),
}

impl Mechanism {
    pub const ALL: [Mechanism; 3] =
        [Mechanism::Plain, Mechanism::Scram(ScramMechanism::Sha256), Mechanism::Scram(ScramMechanism::Sha512)];

    pub fn name(self) -> &'static str {
        match self {
            Self::Plain => "PLAIN",
            Self::Scram(m) => m.name(),
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// Where an exchange finds a user's credential (the metadata image).
pub trait Credentials {
    fn scram(&self, user: &str, mechanism: ScramMechanism) -> Option<ScramCredential>;
}

/// One running authentication.
pub enum Exchange {
    Plain { done: bool },
    Scram(ScramServer),
}

impl Exchange {
    pub fn new(mechanism: Mechanism) -> Self {
        match mechanism {
            Mechanism::Plain => Self::Plain { done: false },
            Mechanism::Scram(m) => Self::Scram(ScramServer::new(m)),
        }
    }

    pub fn mechanism(&self) -> Mechanism {
        match self {
            Self::Plain { .. } => Mechanism::Plain,
            Self::Scram(s) => Mechanism::Scram(s.mechanism()),
        }
    }

    /// Takes the client's next token.
    pub fn step(&mut self, token: &[u8], credentials: &dyn Credentials) -> Result<Step, AuthFailure> {
        match self {
            Self::Plain { done } => {
                if std::mem::replace(done, true) {
                    return Err(AuthFailure::new("Authentication failed: Invalid username or password", "token after PLAIN ended"));
                }
                let user = plain(token, credentials)?;
                Ok(Step::Done { response: Vec::new(), user })
            }
            Self::Scram(server) => {
                let mechanism = server.mechanism();
                server.step(token, |user| credentials.scram(user, mechanism))
            }
        }
    }
}

/// `[authzid] NUL authcid NUL passwd` (Kafka's `PlainSaslServer`, its messages).
fn plain(token: &[u8], credentials: &dyn Credentials) -> Result<String, AuthFailure> {
    let parts: Vec<&[u8]> = token.split(|&b| b == 0).collect();
    if parts.len() != 3 {
        return Err(AuthFailure::new(
            format!("Invalid SASL/PLAIN response: expected 3 tokens, got {}", parts.len()),
            "malformed PLAIN token",
        ));
    }
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|_| AuthFailure::new("Authentication failed: Invalid username or password", "PLAIN token is not UTF-8"));
    let (authzid, user, password) = (text(parts[0])?, text(parts[1])?, text(parts[2])?);
    if user.is_empty() {
        return Err(AuthFailure::new("Authentication failed: username not specified", "empty PLAIN user name"));
    }
    if password.is_empty() {
        return Err(AuthFailure::new("Authentication failed: password not specified", "empty PLAIN password"));
    }
    // Prefer the stronger hash; either credential proves the password.
    let verified = [ScramMechanism::Sha512, ScramMechanism::Sha256]
        .into_iter()
        .find_map(|m| credentials.scram(&user, m).map(|c| c.verifies(m, &password)));
    match verified {
        Some(true) => {}
        Some(false) => return Err(AuthFailure::new("Authentication failed: Invalid username or password", format!("wrong password for user {user:?}"))),
        None => return Err(AuthFailure::new("Authentication failed: Invalid username or password", format!("unknown user {user:?}"))),
    }
    if !authzid.is_empty() && authzid != user {
        return Err(AuthFailure::new(
            "Authentication failed: Client requested an authorization id that is different from username",
            "authorization id differs from user name",
        ));
    }
    Ok(user)
}
