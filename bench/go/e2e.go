package main

// Workload 4 with franz-go: end-to-end latency at a fixed rate, with the
// same method as Bench.java's e2e (a paced producer stamps the send time
// into each value, a consumer in the same process subtracts it on arrival)
// but without a JVM beside the broker: on 2 cores the Java client's own
// pauses (JIT, GC, two threads on one core) decide the p99 of both brokers.

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// e2e BOOTSTRAP TOPIC RATE SECONDS WARMUP_S SIZE ACKS
func e2e(args []string) error {
	if len(args) != 7 {
		usage()
	}
	bootstrap, topic, acks := args[0], args[1], args[6]
	n, err := ints(args[2:6])
	if err != nil {
		return err
	}
	rate, seconds, warmup, size := n[0], n[1], n[2], max(16, n[3])
	total, counted := rate*(seconds+warmup), rate*seconds
	skipped := total - counted

	popts := []kgo.Opt{kgo.SeedBrokers(bootstrap), kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(0), kgo.AllowAutoTopicCreation(),
		kgo.ProducerBatchCompression(kgo.NoCompression())}
	switch acks {
	case "all", "-1":
		popts = append(popts, kgo.RequiredAcks(kgo.AllISRAcks()))
	case "1":
		// As the Java producer's default: up to 5 requests in flight.
		popts = append(popts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite(),
			kgo.MaxProduceRequestsInflightPerBroker(5))
	default:
		return fmt.Errorf("acks %q: want all or 1", acks)
	}
	producer, err := kgo.NewClient(popts...)
	if err != nil {
		return err
	}
	defer producer.Close()
	consumer, err := kgo.NewClient(kgo.SeedBrokers(bootstrap), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtEnd()), kgo.FetchMaxWait(500*time.Millisecond))
	if err != nil {
		return err
	}
	defer consumer.Close()
	// Metadata (and the producer id) before the clock starts; the consumer
	// finds the end offset during the warm-up, whose records are not counted.
	if err := producer.ProduceSync(context.Background(), &kgo.Record{Value: make([]byte, size)}).FirstErr(); err != nil {
		return fmt.Errorf("warm-up record: %w", err)
	}

	base := time.Now()
	e2eLat := make([]time.Duration, counted)
	ackLat := make([]time.Duration, counted)
	var arrived atomic.Int64 // counted records seen by the consumer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	readerDone := make(chan error, 1)
	go func() {
		for {
			fetches := consumer.PollFetches(ctx)
			if ctx.Err() != nil {
				readerDone <- nil
				return
			}
			var fetchErr error
			fetches.EachError(func(_ string, _ int32, err error) { fetchErr = err })
			if fetchErr != nil {
				readerDone <- fetchErr
				return
			}
			now := time.Since(base)
			fetches.EachRecord(func(r *kgo.Record) {
				if len(r.Value) < 16 {
					return
				}
				stamp := time.Duration(binary.BigEndian.Uint64(r.Value[0:]))
				i := int(binary.BigEndian.Uint64(r.Value[8:])) - skipped
				if i >= 0 && i < counted && e2eLat[i] == 0 {
					e2eLat[i] = max(now-stamp, 1)
					arrived.Add(1)
				}
			})
		}
	}()

	period := time.Second / time.Duration(rate)
	var ackErrors atomic.Int64
	var sendLag time.Duration
	for i := range total {
		due := time.Duration(i) * period
		if wait := due - time.Since(base); wait > 0 {
			time.Sleep(wait)
		}
		sent := time.Since(base)
		sendLag = sent - due
		value := make([]byte, size)
		binary.BigEndian.PutUint64(value[0:], uint64(sent))
		binary.BigEndian.PutUint64(value[8:], uint64(i))
		producer.Produce(context.Background(), &kgo.Record{Value: value}, func(_ *kgo.Record, err error) {
			if err != nil {
				ackErrors.Add(1)
				return
			}
			if j := i - skipped; j >= 0 {
				ackLat[j] = max(time.Since(base)-sent, 1)
			}
		})
	}
	if err := producer.Flush(context.Background()); err != nil {
		return err
	}
	// Wait (bounded) for the last records to arrive.
	for deadline := time.Now().Add(30 * time.Second); arrived.Load() < int64(counted) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-readerDone; err != nil {
		return fmt.Errorf("consumer: %w", err)
	}

	e := slices.DeleteFunc(e2eLat, func(d time.Duration) bool { return d == 0 })
	a := slices.DeleteFunc(ackLat, func(d time.Duration) bool { return d == 0 })
	slices.Sort(e)
	slices.Sort(a)
	fmt.Printf("RESULT rate=%d seconds=%d sent=%d missing=%d ack_errors=%d send_lag_us=%d "+
		"p50_us=%.1f p99_us=%.1f p999_us=%.1f max_us=%.1f ack_p50_us=%.1f ack_p99_us=%.1f ack_p999_us=%.1f\n",
		rate, seconds, total, counted-len(e), ackErrors.Load(), sendLag.Microseconds(),
		us(pct(e, 0.50)), us(pct(e, 0.99)), us(pct(e, 0.999)), us(pct(e, 1.0)),
		us(pct(a, 0.50)), us(pct(a, 0.99)), us(pct(a, 0.999)))
	return nil
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1000 }
