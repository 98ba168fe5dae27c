//! Helpers for integration tests that run a real `strom` process. (Stub.)
