//! Request decoding. (Stub: protocol-core owner fills in.)
