//! The supported API version table. (Stub: protocol-core owner fills in.)
