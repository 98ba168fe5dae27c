//! Authentication and authorization: TLS listeners (`tls`), SASL PLAIN and
//! SCRAM (`sasl`, `scram`) driven per connection by `session`, failed-login
//! rate limiting (`limiter`), and ACLs (`acl`) enforced by [`Authorizer`].

pub mod acl;
pub mod authorizer;
pub mod limiter;
pub mod principal_mapping;
pub mod sasl;
pub mod scram;
pub mod session;
pub mod tls;

pub use authorizer::Authorizer;

/// Who a connection acts for, as Kafka's `KafkaPrincipal` prints it: "User:alice".
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal(String);

impl Principal {
    /// Kafka's `KafkaPrincipal.ANONYMOUS`: PLAINTEXT clients and SSL clients
    /// without a certificate.
    pub fn anonymous() -> Self {
        Self::user("ANONYMOUS")
    }

    pub fn user(name: &str) -> Self {
        Self(format!("User:{name}"))
    }

    /// "User:alice".
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Principal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
