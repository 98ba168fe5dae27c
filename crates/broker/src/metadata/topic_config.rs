//! (Stub: to be filled in.)
