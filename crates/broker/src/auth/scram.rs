//! SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677), server side, with
//! Kafka's message grammar and failure messages (`ScramSaslServer`,
//! `ScramMessages`, `ScramFormatter`). Credentials are stored salted
//! (salt, StoredKey, ServerKey, iterations), never as passwords.
//!
//! Differences from Kafka, all stricter: the channel-binding attribute `c=`
//! must echo the gs2 header, and a mandatory extension (`m=`) or delegation-token login
//! (`tokenauth=true`) is refused (Strom has no delegation tokens).

use base64::Engine;
use hmac::{Hmac, Mac};
use rand::distr::{Alphanumeric, SampleString};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

use super::sasl::AuthFailure;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Kafka's minimum and maximum iterations for both mechanisms
/// (`ScramMechanism.minIterations`, AlterUserScramCredentials' 16384 cap).
pub const MIN_ITERATIONS: i32 = 4096;
pub const MAX_ITERATIONS: i32 = 16384;
/// Length of generated salts; Kafka uses about 20 random bytes.
const SALT_BYTES: usize = 32;
/// Length of the server's part of the nonce.
const SERVER_NONCE_CHARS: usize = 32;

/// A SCRAM mechanism; `type_code` is Kafka's `ScramMechanism` byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ScramMechanism {
    #[serde(rename = "SCRAM-SHA-256")]
    Sha256,
    #[serde(rename = "SCRAM-SHA-512")]
    Sha512,
}

impl ScramMechanism {
    pub const ALL: [ScramMechanism; 2] = [ScramMechanism::Sha256, ScramMechanism::Sha512];

    pub fn name(self) -> &'static str {
        match self {
            Self::Sha256 => "SCRAM-SHA-256",
            Self::Sha512 => "SCRAM-SHA-512",
        }
    }

    /// Kafka's `ScramMechanism.type()`: 1 for SHA-256, 2 for SHA-512 (0 is UNKNOWN).
    pub fn type_code(self) -> i8 {
        match self {
            Self::Sha256 => 1,
            Self::Sha512 => 2,
        }
    }

    pub fn from_type_code(code: i8) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.type_code() == code)
    }

    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        // HMAC takes keys of any length, so new_from_slice cannot fail.
        match self {
            Self::Sha256 => Hmac::<Sha256>::new_from_slice(key).map(|m| m.chain_update(data).finalize().into_bytes().to_vec()),
            Self::Sha512 => Hmac::<Sha512>::new_from_slice(key).map(|m| m.chain_update(data).finalize().into_bytes().to_vec()),
        }
        .unwrap_or_default()
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha256 => Sha256::digest(data).to_vec(),
            Self::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    /// RFC 5802's Hi(): PBKDF2 with this mechanism's HMAC.
    pub fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        match self {
            Self::Sha256 => pbkdf2::pbkdf2_hmac_array::<Sha256, 32>(password, salt, iterations).to_vec(),
            Self::Sha512 => pbkdf2::pbkdf2_hmac_array::<Sha512, 64>(password, salt, iterations).to_vec(),
        }
    }
}

/// A stored SCRAM credential (Kafka's `ScramCredential`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScramCredential {
    #[serde(with = "b64")]
    pub salt: Vec<u8>,
    #[serde(with = "b64")]
    pub stored_key: Vec<u8>,
    #[serde(with = "b64")]
    pub server_key: Vec<u8>,
    pub iterations: i32,
}

impl std::fmt::Debug for ScramCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys stay out of logs: they allow offline guessing.
        f.debug_struct("ScramCredential").field("iterations", &self.iterations).finish_non_exhaustive()
    }
}

impl ScramCredential {
    /// The credential for `password` with a fresh random salt.
    pub fn new(mechanism: ScramMechanism, password: &str, iterations: i32) -> Self {
        let mut salt = vec![0u8; SALT_BYTES];
        rand::rng().fill_bytes(&mut salt);
        let salted = mechanism.salted_password(password.as_bytes(), &salt, iterations.max(1).unsigned_abs());
        Self::from_salted_password(mechanism, salt, &salted, iterations)
    }

    /// The credential from a salted password, as AlterUserScramCredentials sends it.
    pub fn from_salted_password(mechanism: ScramMechanism, salt: Vec<u8>, salted_password: &[u8], iterations: i32) -> Self {
        let client_key = mechanism.hmac(salted_password, b"Client Key");
        let stored_key = mechanism.hash(&client_key);
        let server_key = mechanism.hmac(salted_password, b"Server Key");
        Self { salt, stored_key, server_key, iterations }
    }

    /// Whether `password` is the one this credential was made from (PLAIN
    /// logins are checked this way). Constant time in the comparison.
    pub fn verifies(&self, mechanism: ScramMechanism, password: &str) -> bool {
        let Ok(iterations) = u32::try_from(self.iterations) else { return false };
        let salted = mechanism.salted_password(password.as_bytes(), &self.salt, iterations);
        let stored_key = mechanism.hash(&mechanism.hmac(&salted, b"Client Key"));
        bool::from(stored_key.ct_eq(&self.stored_key))
    }
}

/// What one step of an exchange produced.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Send this challenge and wait for the next client message.
    Continue(Vec<u8>),
    /// Authenticated as `user`; send this last server message.
    Done { response: Vec<u8>, user: String },
}

/// One SCRAM exchange: client-first, server-first, client-final, server-final.
pub struct ScramServer {
    mechanism: ScramMechanism,
    state: State,
    /// Tests fix the server nonce to replay RFC 7677's example.
    #[cfg(test)]
    server_nonce: Option<String>,
}

enum State {
    ClientFirst,
    ClientFinal(Box<Pending>),
    Finished,
}

struct Pending {
    user: String,
    gs2_header: String,
    client_first_bare: String,
    server_first: String,
    nonce: String,
    credential: ScramCredential,
}

impl ScramServer {
    pub fn new(mechanism: ScramMechanism) -> Self {
        Self {
            mechanism,
            state: State::ClientFirst,
            #[cfg(test)]
            server_nonce: None,
        }
    }

    fn server_nonce(&self) -> String {
        #[cfg(test)]
        if let Some(nonce) = &self.server_nonce {
            return nonce.clone();
        }
        Alphanumeric.sample_string(&mut rand::rng(), SERVER_NONCE_CHARS)
    }

    pub fn mechanism(&self) -> ScramMechanism {
        self.mechanism
    }

    /// Takes the next client message; `lookup` finds a user's credential.
    pub fn step(&mut self, message: &[u8], lookup: impl FnOnce(&str) -> Option<ScramCredential>) -> Result<Step, AuthFailure> {
        match std::mem::replace(&mut self.state, State::Finished) {
            State::ClientFirst => {
                let first = parse_client_first(message).map_err(|reason| self.invalid(reason))?;
                let credential = lookup(&first.user).ok_or_else(|| self.invalid(format!("unknown user {:?}", first.user)))?;
                if !first.authzid.is_empty() && first.authzid != first.user {
                    return Err(AuthFailure::new(
                        "Authentication failed: Client requested an authorization id that is different from username",
                        "authorization id differs from user name",
                    ));
                }
                if credential.iterations < MIN_ITERATIONS {
                    return Err(self.invalid(format!("stored credential has {} iterations", credential.iterations)));
                }
                let nonce = format!("{}{}", first.nonce, self.server_nonce());
                let server_first = format!("r={nonce},s={},i={}", B64.encode(&credential.salt), credential.iterations);
                let challenge = server_first.clone().into_bytes();
                self.state = State::ClientFinal(Box::new(Pending {
                    user: first.user,
                    gs2_header: first.gs2_header,
                    client_first_bare: first.bare,
                    server_first,
                    nonce,
                    credential,
                }));
                Ok(Step::Continue(challenge))
            }
            State::ClientFinal(pending) => {
                let last = parse_client_final(message).map_err(|reason| self.invalid(reason))?;
                if last.channel_binding != pending.gs2_header.as_bytes() {
                    return Err(self.invalid("channel binding does not echo the gs2 header".to_string()));
                }
                // A final nonce that ends with the combined one, as Kafka 3.8.1
                // to 3.9 accept: librdkafka before 2.6.1 sends its own nonce
                // once more before it. Kafka 4.x compares exactly and refuses
                // those clients (Debian's kcat among them).
                if !last.nonce.ends_with(&pending.nonce) {
                    return Err(self.invalid("Invalid client nonce in the final client message.".to_string()));
                }
                let auth_message = format!("{},{},{}", pending.client_first_bare, pending.server_first, last.without_proof);
                let client_signature = self.mechanism.hmac(&pending.credential.stored_key, auth_message.as_bytes());
                if last.proof.len() != client_signature.len() {
                    return Err(self.invalid("client proof has the wrong length".to_string()));
                }
                let client_key: Vec<u8> = last.proof.iter().zip(&client_signature).map(|(p, s)| p ^ s).collect();
                if !bool::from(self.mechanism.hash(&client_key).ct_eq(&pending.credential.stored_key)) {
                    return Err(self.invalid(format!("wrong password for user {:?}", pending.user)));
                }
                let server_signature = self.mechanism.hmac(&pending.credential.server_key, auth_message.as_bytes());
                let response = format!("v={}", B64.encode(server_signature)).into_bytes();
                Ok(Step::Done { response, user: pending.user })
            }
            State::Finished => Err(self.invalid("message after the exchange ended".to_string())),
        }
    }

    /// Kafka answers every `SaslException` with this one message, so that a
    /// client cannot tell an unknown user from a wrong password by the text.
    fn invalid(&self, reason: String) -> AuthFailure {
        AuthFailure::new(
            format!("Authentication failed during authentication due to invalid credentials with SASL mechanism {}", self.mechanism.name()),
            reason,
        )
    }
}

struct ClientFirst {
    gs2_header: String,
    authzid: String,
    user: String,
    nonce: String,
    bare: String,
}

/// `n,[a=authzid],n=user,r=nonce[,ext=value]*` (Kafka's `ClientFirstMessage`).
fn parse_client_first(message: &[u8]) -> Result<ClientFirst, String> {
    let text = ascii(message)?;
    let rest = text.strip_prefix("n,").ok_or("the gs2 header must be \"n,\" (no channel binding)")?;
    let (authzid_part, bare) = rest.split_once(',').ok_or("no client-first-message-bare")?;
    let authzid = match authzid_part {
        "" => String::new(),
        a => decode_saslname(a.strip_prefix("a=").ok_or("bad authzid")?)?,
    };
    let gs2_header = format!("n,{authzid_part},");
    let mut attrs = bare.split(',');
    let user = attrs.next().and_then(|a| a.strip_prefix("n=")).ok_or("n= must come first (no m= extension)")?;
    let user = decode_saslname(user)?;
    let nonce = attrs.next().and_then(|a| a.strip_prefix("r=")).ok_or("no nonce")?;
    if nonce.is_empty() || !nonce.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err("the nonce must be printable".to_string());
    }
    for ext in attrs {
        let (key, value) = ext.split_once('=').ok_or("bad extension")?;
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphabetic()) || value.is_empty() {
            return Err("bad extension".to_string());
        }
        if key == "tokenauth" && value.eq_ignore_ascii_case("true") {
            return Err("delegation tokens are not supported".to_string());
        }
    }
    Ok(ClientFirst { gs2_header, authzid, user, nonce: nonce.to_string(), bare: bare.to_string() })
}

struct ClientFinal {
    channel_binding: Vec<u8>,
    nonce: String,
    proof: Vec<u8>,
    without_proof: String,
}

/// `c=base64,r=nonce[,ext=value]*,p=base64` (Kafka's `ClientFinalMessage`).
fn parse_client_final(message: &[u8]) -> Result<ClientFinal, String> {
    let text = ascii(message)?;
    let (without_proof, proof) = text.rsplit_once(",p=").ok_or("no proof")?;
    let proof = B64.decode(proof).map_err(|_| "the proof is not base64")?;
    let mut attrs = without_proof.split(',');
    let channel = attrs.next().and_then(|a| a.strip_prefix("c=")).ok_or("no channel binding")?;
    let channel_binding = B64.decode(channel).map_err(|_| "the channel binding is not base64")?;
    let nonce = attrs.next().and_then(|a| a.strip_prefix("r=")).ok_or("no nonce")?;
    Ok(ClientFinal { channel_binding, nonce: nonce.to_string(), proof, without_proof: without_proof.to_string() })
}

fn ascii(message: &[u8]) -> Result<&str, String> {
    if message.iter().any(|&b| b == 0 || b > 0x7f) {
        return Err("SCRAM messages are 7-bit ASCII without NUL".to_string());
    }
    std::str::from_utf8(message).map_err(|_| "not ASCII".to_string())
}

/// A saslname with `=2C` and `=3D` escapes (Kafka's `ScramFormatter.username`).
fn decode_saslname(name: &str) -> Result<String, String> {
    if name.is_empty() {
        return Err("empty user name".to_string());
    }
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(i) = rest.find('=') {
        out.push_str(&rest[..i]);
        match rest.get(i..i + 3) {
            Some("=2C") => out.push(','),
            Some("=3D") => out.push('='),
            _ => return Err(format!("invalid user name {name:?}")),
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Serde as base64 strings, so the metadata log stays readable.
mod b64 {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::B64.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        super::B64.decode(text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[path = "scram_tests.rs"]
mod tests;
