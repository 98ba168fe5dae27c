//! Length-prefixed framing. (Stub: protocol-core owner fills in.)
