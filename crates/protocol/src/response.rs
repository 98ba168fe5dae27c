//! Response encoding. (Stub: protocol-core owner fills in.)
