//! Placeholder: __consumer_offsets record formats land here.
