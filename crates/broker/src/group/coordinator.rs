//! Placeholder: the group coordinator state machine lands here.
