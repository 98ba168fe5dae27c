//! Placeholder: the async group service lands here.
