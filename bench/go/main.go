// franzbench: a load generator that is not the bottleneck. Kafka's Java tools
// (ProducerPerformance, ConsumerPerformance) spend more CPU per MB than either
// broker, so on a 2-core machine they measure the client. franz-go spends a
// fraction of that, which leaves the broker as the limit (docs/benchmarks.md).
//
//	franzbench produce BOOTSTRAP TOPIC RECORDS SIZE ACKS PRODUCERS
//	franzbench consume BOOTSTRAP TOPIC RECORDS
//	franzbench raw-produce BOOTSTRAP TOPIC RECORDS SIZE ACKS PARTITIONS BATCH_BYTES
//	franzbench raw-consume BOOTSTRAP TOPIC RECORDS [PASSES]
//	franzbench e2e BOOTSTRAP TOPIC RATE SECONDS WARMUP_S SIZE ACKS
//
// produce: PRODUCERS clients (one connection each) share RECORDS records of
// SIZE bytes, asynchronously, acks "all" (idempotent) or "1"; the records/s
// figure counts from the first send to the last ack. consume: one client
// reads RECORDS records from the start of every partition. Both print one
// "RESULT key=value ..." line, as bench/java/Bench.java does. The raw ones
// (raw.go) leave out the client's per-record work altogether; raw-consume
// reads the records PASSES times (default 1), each pass from the start.
// e2e (e2e.go) is Bench.java's e2e with franz-go: latency at a fixed rate,
// in microseconds, with the same RESULT keys.
package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "produce":
		err = produce(os.Args[2:])
	case "consume":
		err = consume(os.Args[2:])
	case "raw-produce":
		err = rawProduce(os.Args[2:])
	case "raw-consume":
		err = rawConsume(os.Args[2:])
	case "e2e":
		err = e2e(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "franzbench:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: franzbench produce|consume|raw-produce|raw-consume|e2e ... (see the comment at the top of main.go)")
	os.Exit(2)
}

func ints(args []string) ([]int, error) {
	out := make([]int, len(args))
	for i, a := range args {
		n, err := strconv.Atoi(a)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive number", a)
		}
		out[i] = n
	}
	return out, nil
}

func produce(args []string) error {
	if len(args) != 6 {
		usage()
	}
	bootstrap, topic, acks := args[0], args[1], args[4]
	n, err := ints([]string{args[2], args[3], args[5]})
	if err != nil {
		return err
	}
	records, size, producers := n[0], n[1], n[2]
	opts := []kgo.Opt{kgo.SeedBrokers(bootstrap), kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(0),
		kgo.MaxBufferedRecords(1 << 16), kgo.ProducerBatchCompression(kgo.NoCompression())}
	switch acks {
	case "all", "-1":
		opts = append(opts, kgo.RequiredAcks(kgo.AllISRAcks()))
	case "1":
		opts = append(opts, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
	default:
		return fmt.Errorf("acks %q: want all or 1", acks)
	}
	clients := make([]*kgo.Client, producers)
	for i := range clients {
		c, err := kgo.NewClient(opts...)
		if err != nil {
			return err
		}
		defer c.Close()
		// Metadata and producer id before the clock starts.
		if err := c.ProduceSync(context.Background(), &kgo.Record{Value: make([]byte, size)}).FirstErr(); err != nil {
			return fmt.Errorf("warm-up record: %w", err)
		}
		clients[i] = c
	}

	// Random uppercase letters, as ProducerPerformance sends; one value shared
	// by every record (franz-go does not modify values).
	value := make([]byte, size)
	for i := range value {
		value[i] = byte('A' + rand.IntN(26))
	}
	latencies := make([][]time.Duration, producers)
	var failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for i, c := range clients {
		share := records / producers
		if i < records%producers {
			share++
		}
		lat := make([]time.Duration, share)
		latencies[i] = lat
		wg.Add(1)
		go func() {
			defer wg.Done()
			var acked sync.WaitGroup
			acked.Add(share)
			for j := range share {
				sent := time.Now()
				c.Produce(context.Background(), &kgo.Record{Value: value}, func(_ *kgo.Record, err error) {
					if err != nil {
						failed.Add(1)
						firstErr.CompareAndSwap(nil, err)
					}
					lat[j] = time.Since(sent)
					acked.Done()
				})
			}
			acked.Wait()
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	all := slices.Concat(latencies...)
	slices.Sort(all)
	fmt.Printf("RESULT records=%d producers=%d seconds=%.3f records_per_s=%.1f mb_per_s=%.2f ack_p50_ms=%.3f ack_p99_ms=%.3f errors=%d\n",
		records, producers, elapsed, float64(records)/elapsed, float64(records)*float64(size)/elapsed/1e6,
		ms(pct(all, 0.50)), ms(pct(all, 0.99)), failed.Load())
	if err, _ := firstErr.Load().(error); err != nil {
		return fmt.Errorf("%d records failed, the first with %w", failed.Load(), err)
	}
	return nil
}

func consume(args []string) error {
	if len(args) != 3 {
		usage()
	}
	bootstrap, topic := args[0], args[1]
	n, err := ints(args[2:])
	if err != nil {
		return err
	}
	records := n[0]
	c, err := kgo.NewClient(kgo.SeedBrokers(bootstrap), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var got, bytes int
	start := time.Now()
	for got < records {
		fetches := c.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("after %d of %d records: %w", got, records, err)
		}
		var fetchErr error
		fetches.EachError(func(_ string, _ int32, err error) { fetchErr = err })
		if fetchErr != nil {
			return fetchErr
		}
		fetches.EachRecord(func(r *kgo.Record) {
			got++
			bytes += len(r.Value)
		})
	}
	elapsed := time.Since(start).Seconds()
	fmt.Printf("RESULT records=%d seconds=%.3f records_per_s=%.1f mb_per_s=%.2f\n",
		got, elapsed, float64(got)/elapsed, float64(bytes)/elapsed/1e6)
	return nil
}

func pct(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*q+0.999999) - 1
	return sorted[max(0, min(len(sorted)-1, i))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
