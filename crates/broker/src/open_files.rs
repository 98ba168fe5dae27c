//! The open-files limit. Every partition log holds a descriptor per segment
//! (three while its active segment is being written) and every connection
//! one, so the soft limit services often start with (1024 under systemd and
//! many shells) is spent by a few hundred partitions. As the Go runtime does,
//! the broker raises its soft limit to the hard one at startup; Kafka instead
//! asks its operators to raise `ulimit -n`.

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};

/// The soft limit before and after raising it to the hard limit (`None`: unlimited).
pub fn raise_to_hard_limit() -> std::io::Result<(Option<u64>, Option<u64>)> {
    let limit = getrlimit(Resource::Nofile);
    if limit.current == limit.maximum {
        return Ok((limit.current, limit.current));
    }
    setrlimit(Resource::Nofile, Rlimit { current: limit.maximum, maximum: limit.maximum })?;
    Ok((limit.current, getrlimit(Resource::Nofile).current))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use super::*;

    #[test]
    fn a_soft_limit_below_the_hard_one_is_raised_to_it() {
        let limit = getrlimit(Resource::Nofile);
        let Some(hard) = limit.maximum else { return };
        // Just below the hard limit: other tests of this process keep their descriptors.
        setrlimit(Resource::Nofile, Rlimit { current: Some(hard - 1), maximum: Some(hard) }).unwrap();
        assert_eq!(raise_to_hard_limit().unwrap(), (Some(hard - 1), Some(hard)));
        assert_eq!(raise_to_hard_limit().unwrap(), (Some(hard), Some(hard)), "already raised");
    }
}
