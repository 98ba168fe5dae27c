//! The responses a connection owes while Produce requests wait for their data
//! to be durable (group commit within one connection).
//!
//! Kafka answers one request per connection at a time (it mutes the channel
//! until the response is sent), so a producer with several requests in flight
//! gets one fsync per request. Strom keeps reading while a Produce response
//! waits only for an fsync: the Produce requests that follow are appended at
//! once (in request order, so idempotent sequences are checked as before), and
//! the next fsync covers all of them. Their responses wait here and leave
//! strictly in request order, as Kafka clients require; a client cannot tell
//! except by speed.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;

/// Most responses one connection may owe. Idempotent producers keep at most 5
/// requests in flight (Java's `max.in.flight.requests.per.connection`,
/// librdkafka and franz-go cap it there too), and one fsync covers all of
/// them; the margin serves non-idempotent pipelines. Beyond it the connection
/// stops reading until the oldest is answered (TCP backpressure), so a client
/// that never waits cannot make the broker hold a response per request it sends.
pub const MAX_OWED: usize = 16;

/// An owed response: resolves once it may be written.
pub type Response<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// Owed responses, oldest first; each is a future that resolves once its
/// response may be written.
pub struct Owed<T> {
    queue: VecDeque<Response<T>>,
    limit: usize,
}

impl<T: Send + 'static> Owed<T> {
    pub fn new(limit: usize) -> Self {
        Self { queue: VecDeque::with_capacity(limit), limit: limit.max(1) }
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// No room for another: write the oldest before handling the next request.
    pub fn is_full(&self) -> bool {
        self.queue.len() >= self.limit
    }

    /// Owes the response `response` resolves to, after every one owed before.
    /// Returns it back when [`Self::is_full`].
    pub fn push(&mut self, response: impl Future<Output = T> + Send + 'static) -> Result<(), Response<T>> {
        let response = Box::pin(response);
        if self.is_full() {
            return Err(response);
        }
        self.queue.push_back(response);
        Ok(())
    }

    /// Owes a response that is ready but must follow the ones owed before.
    #[cfg(test)]
    pub fn push_ready(&mut self, response: T) -> Result<(), Response<T>> {
        self.push(std::future::ready(response))
    }

    /// The oldest owed response once it is ready; never resolves while
    /// nothing is owed. Cancel safe: dropped before it resolves, the response
    /// stays owed.
    pub async fn next(&mut self) -> T {
        let Some(oldest) = self.queue.front_mut() else { return std::future::pending().await };
        let response = oldest.as_mut().await;
        // No await between the future resolving and its removal: a resolved
        // future is never polled again.
        self.queue.pop_front();
        response
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a failed unwrap is a failed test")]
mod tests {
    use std::time::Duration;

    use tokio::sync::oneshot;

    use super::*;

    /// A response that resolves to `value` when its sender fires.
    fn later(owed: &mut Owed<u32>, value: u32) -> oneshot::Sender<()> {
        let (fire, fired) = oneshot::channel::<()>();
        owed.push(async move {
            let _ = fired.await;
            value
        })
        .map_err(|_| "full")
        .unwrap();
        fire
    }

    async fn resolves_soon(owed: &mut Owed<u32>) -> Option<u32> {
        tokio::time::timeout(Duration::from_millis(20), owed.next()).await.ok()
    }

    #[tokio::test]
    async fn responses_leave_in_request_order_whatever_order_they_are_ready_in() {
        let mut owed = Owed::new(8);
        let senders: Vec<_> = (0..5).map(|i| later(&mut owed, i)).collect();
        owed.push_ready(5).map_err(|_| "full").unwrap();
        // Ready from the last to the first: nothing leaves before the oldest.
        let mut senders = senders.into_iter().rev().collect::<Vec<_>>();
        let oldest = senders.pop().unwrap();
        for sender in senders {
            sender.send(()).unwrap();
        }
        assert_eq!(resolves_soon(&mut owed).await, None, "the oldest is not ready yet");
        oldest.send(()).unwrap();
        for expected in 0..6 {
            assert_eq!(resolves_soon(&mut owed).await, Some(expected));
        }
        assert!(owed.is_empty());
        assert_eq!(resolves_soon(&mut owed).await, None, "nothing owed: never resolves");
    }

    #[tokio::test]
    async fn an_abandoned_wait_keeps_the_response_owed() {
        let mut owed = Owed::new(4);
        let fire = later(&mut owed, 7);
        owed.push_ready(8).map_err(|_| "full").unwrap();
        assert_eq!(resolves_soon(&mut owed).await, None);
        assert_eq!(resolves_soon(&mut owed).await, None, "waited twice, cancelled twice");
        fire.send(()).unwrap();
        assert_eq!(resolves_soon(&mut owed).await, Some(7));
        assert_eq!(resolves_soon(&mut owed).await, Some(8));
    }

    #[tokio::test]
    async fn at_most_the_limit_is_owed() {
        let mut owed = Owed::new(3);
        let senders: Vec<_> = (0..3).map(|i| later(&mut owed, i)).collect();
        assert!(owed.is_full());
        assert!(owed.push_ready(3).is_err(), "a fourth is refused");
        for sender in senders {
            sender.send(()).unwrap();
        }
        assert_eq!(resolves_soon(&mut owed).await, Some(0));
        assert!(!owed.is_full(), "answering the oldest makes room");
        owed.push_ready(3).map_err(|_| "full").unwrap();
        assert!(owed.is_full());
        for expected in 1..4 {
            assert_eq!(resolves_soon(&mut owed).await, Some(expected));
        }
        assert!(!Owed::<u32>::new(0).is_full(), "a zero limit still lets one response be owed");
    }
}
