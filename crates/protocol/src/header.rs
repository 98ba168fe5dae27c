//! Request header parsing. (Stub: protocol-core owner fills in.)
