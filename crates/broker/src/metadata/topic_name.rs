//! Topic name rules, as Kafka's `org.apache.kafka.common.internals.Topic` has them.

/// Longest legal topic name (Kafka: 249, so that `<topic>-<partition>` fits a file name).
pub const MAX_NAME_LEN: usize = 249;

/// Checks a topic name; the error is the message Kafka gives for it.
pub fn validate(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("Topic name is illegal, it can't be empty".to_string());
    }
    if name == "." || name == ".." {
        return Err("Topic name cannot be \".\" or \"..\"".to_string());
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!(
            "Topic name is illegal, it can't be longer than {MAX_NAME_LEN} characters, topic name: {name}"
        ));
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-') {
        return Err(format!(
            "Topic name \"{name}\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'"
        ));
    }
    Ok(())
}

/// Kafka treats '.' and '_' as the same in metric names, so two topics whose
/// names differ only there collide.
pub fn collision_key(name: &str) -> String {
    name.replace('.', "_")
}

/// Whether a name contains a character that can collide ('.' or '_').
pub fn has_collision_chars(name: &str) -> bool {
    name.contains('.') || name.contains('_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked_like_kafka() {
        for ok in ["a", "A-b_c.9", &"x".repeat(249), "..."] {
            assert_eq!(validate(ok), Ok(()), "{ok}");
        }
        for bad in ["", ".", "..", "a b", "é", "a/b", &"x".repeat(250)] {
            assert!(validate(bad).is_err(), "{bad}");
        }
        assert_eq!(collision_key("a.b_c"), "a_b_c");
        assert!(has_collision_chars("a.b") && has_collision_chars("a_b") && !has_collision_chars("ab"));
    }
}
