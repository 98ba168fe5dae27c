package main

// The raw workloads: the broker's own ceiling. No client builds or decodes
// records here: one record batch per partition is encoded once and sent
// again and again (the broker assigns offsets; the CRC does not cover them),
// and fetched batches are counted from their headers. What is left is what
// the broker does per request, per batch and per record.

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// rawInflight is how many Produce requests are outstanding at once (the Java
// producer's default max.in.flight.requests.per.connection is 5).
const rawInflight = 4

// recordBatch encodes a v2 batch of uncompressed records of `size` random
// letters, as many as fit in `batchBytes`, without a producer id.
func recordBatch(size, batchBytes int) ([]byte, int) {
	value := make([]byte, size)
	for i := range value {
		value[i] = byte('A' + rand.IntN(26))
	}
	now := time.Now().UnixMilli()
	var records []byte
	count := 0
	for len(records)+size+16 <= batchBytes-61 || count == 0 {
		var body []byte
		body = append(body, 0)                         // attributes
		body = binary.AppendVarint(body, 0)            // timestamp delta
		body = binary.AppendVarint(body, int64(count)) // offset delta
		body = binary.AppendVarint(body, -1)           // null key
		body = binary.AppendVarint(body, int64(size))  // value length
		body = append(body, value...)
		body = binary.AppendVarint(body, 0) // no headers
		records = binary.AppendVarint(records, int64(len(body)))
		records = append(records, body...)
		count++
	}
	b := make([]byte, 0, 61+len(records))
	b = binary.BigEndian.AppendUint64(b, 0)                       // base offset: the broker's
	b = binary.BigEndian.AppendUint32(b, uint32(49+len(records))) // batch length
	b = binary.BigEndian.AppendUint32(b, 0)                       // partition leader epoch
	b = append(b, 2)                                              // magic
	b = binary.BigEndian.AppendUint32(b, 0)                       // crc, below
	b = binary.BigEndian.AppendUint16(b, 0)                       // attributes
	b = binary.BigEndian.AppendUint32(b, uint32(count-1))         // last offset delta
	b = binary.BigEndian.AppendUint64(b, uint64(now))             // base timestamp
	b = binary.BigEndian.AppendUint64(b, uint64(now))             // max timestamp
	b = binary.BigEndian.AppendUint64(b, ^uint64(0))              // producer id -1
	b = binary.BigEndian.AppendUint16(b, ^uint16(0))              // producer epoch -1
	b = binary.BigEndian.AppendUint32(b, ^uint32(0))              // base sequence -1
	b = binary.BigEndian.AppendUint32(b, uint32(count))           // records
	b = append(b, records...)
	crc := crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli))
	binary.BigEndian.PutUint32(b[17:], crc)
	return b, count
}

// rawProduce: franzbench raw-produce BOOTSTRAP TOPIC RECORDS SIZE ACKS PARTITIONS BATCH_BYTES
// sends requests of one batch per partition until RECORDS records are acked.
func rawProduce(args []string) error {
	if len(args) != 7 {
		usage()
	}
	bootstrap, topic, acksArg := args[0], args[1], args[4]
	n, err := ints([]string{args[2], args[3], args[5], args[6]})
	if err != nil {
		return err
	}
	records, size, partitions, batchBytes := n[0], n[1], n[2], n[3]
	acks := int16(-1)
	if acksArg == "1" {
		acks = 1
	} else if acksArg != "all" {
		return fmt.Errorf("acks %q: want all or 1", acksArg)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap))
	if err != nil {
		return err
	}
	defer cl.Close()
	mtopic, err := topicMetadata(context.Background(), cl, topic)
	if err != nil {
		return err
	}
	if len(mtopic.Partitions) < partitions {
		return fmt.Errorf("topic %s has %d partitions, not %d", topic, len(mtopic.Partitions), partitions)
	}
	batch, perBatch := recordBatch(size, batchBytes)
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = acks, 30000
	t := kmsg.NewProduceRequestTopic()
	t.Topic, t.TopicID = topic, mtopic.TopicID
	for p := range partitions {
		part := kmsg.NewProduceRequestTopicPartition()
		part.Partition, part.Records = int32(p), batch
		t.Partitions = append(t.Partitions, part)
	}
	req.Topics = []kmsg.ProduceRequestTopic{t}
	perRequest := perBatch * partitions
	requests := (records + perRequest - 1) / perRequest

	send := func() error {
		resp, err := req.RequestWith(context.Background(), cl)
		if err != nil {
			return err
		}
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if p.ErrorCode != 0 {
					return fmt.Errorf("partition %d: error code %d", p.Partition, p.ErrorCode)
				}
			}
		}
		return nil
	}
	if err := send(); err != nil { // metadata and connection before the clock starts
		return fmt.Errorf("first request: %w", err)
	}
	var next atomic.Int64
	var firstErr atomic.Value
	latencies := make([]time.Duration, requests)
	var wg sync.WaitGroup
	start := time.Now()
	for range rawInflight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(requests) || firstErr.Load() != nil {
					return
				}
				sent := time.Now()
				if err := send(); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				latencies[i] = time.Since(sent)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	if err, _ := firstErr.Load().(error); err != nil {
		return err
	}
	sent := requests * perRequest
	slices.Sort(latencies)
	fmt.Printf("RESULT records=%d requests=%d batch_records=%d seconds=%.3f records_per_s=%.1f mb_per_s=%.2f request_p50_ms=%.3f request_p99_ms=%.3f request_p999_ms=%.3f request_max_ms=%.3f\n",
		sent, requests, perBatch, elapsed, float64(sent)/elapsed, float64(sent)*float64(size)/elapsed/1e6,
		ms(pct(latencies, 0.50)), ms(pct(latencies, 0.99)), ms(pct(latencies, 0.999)), ms(pct(latencies, 1)))
	return nil
}

// rawConsume: franzbench raw-consume BOOTSTRAP TOPIC RECORDS reads every
// partition from offset 0 with Fetch requests shaped as the Java consumer's
// defaults (fetch.max.bytes 50 MiB, max.partition.fetch.bytes 1 MiB), counting
// records from batch headers, until RECORDS records are read.
func rawConsume(args []string) error {
	if len(args) != 3 && len(args) != 4 {
		usage()
	}
	bootstrap, topic := args[0], args[1]
	if len(args) == 3 {
		args = append(args, "1")
	}
	n, err := ints(args[2:])
	if err != nil {
		return err
	}
	records, passes := n[0], n[1]
	cl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap))
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx := context.Background()
	mtopic, err := topicMetadata(ctx, cl, topic)
	if err != nil {
		return err
	}
	leader := mtopic.Partitions[0].Leader
	for _, p := range mtopic.Partitions {
		if p.Leader != leader {
			return fmt.Errorf("partitions on several brokers: one broker only")
		}
	}
	broker := cl.Broker(int(leader))
	got, bytes := 0, 0
	start := time.Now()
	deadline := start.Add(10 * time.Minute)
	// Each pass reads the same records again from the start (from the page
	// cache): a run long enough to measure without writing more data.
	for pass := 0; pass < passes; pass++ {
		offsets := make(map[int32]int64)
		for _, p := range mtopic.Partitions {
			offsets[p.Partition] = 0
		}
		for inPass := 0; inPass < records; {
			if time.Now().After(deadline) {
				return fmt.Errorf("after %d of %d records: timed out", got, records*passes)
			}
			req := kmsg.NewPtrFetchRequest()
			req.MaxWaitMillis, req.MinBytes, req.MaxBytes = 500, 1, 50<<20
			ft := kmsg.NewFetchRequestTopic()
			ft.Topic, ft.TopicID = topic, mtopic.TopicID
			for p, offset := range offsets {
				fp := kmsg.NewFetchRequestTopicPartition()
				fp.Partition, fp.FetchOffset, fp.PartitionMaxBytes = p, offset, 1<<20
				ft.Partitions = append(ft.Partitions, fp)
			}
			req.Topics = []kmsg.FetchRequestTopic{ft}
			resp, err := req.RequestWith(ctx, broker)
			if err != nil {
				return err
			}
			if resp.ErrorCode != 0 {
				return fmt.Errorf("fetch: error code %d", resp.ErrorCode)
			}
			for _, t := range resp.Topics {
				for _, p := range t.Partitions {
					if p.ErrorCode != 0 {
						return fmt.Errorf("partition %d: error code %d", p.Partition, p.ErrorCode)
					}
					bytes += len(p.RecordBatches)
					next, count := walkBatches(p.RecordBatches)
					if next > offsets[p.Partition] {
						offsets[p.Partition] = next
					}
					got += count
					inPass += count
				}
			}
		}
	}
	elapsed := time.Since(start).Seconds()
	fmt.Printf("RESULT records=%d seconds=%.3f records_per_s=%.1f mb_per_s=%.2f\n",
		got, elapsed, float64(got)/elapsed, float64(bytes)/elapsed/1e6)
	return nil
}

// topicMetadata is the topic's entry in a Metadata answer: its id (Produce
// v13+ and Fetch v13+ name topics by id) and partitions.
func topicMetadata(ctx context.Context, cl *kgo.Client, topic string) (kmsg.MetadataResponseTopic, error) {
	meta := kmsg.NewPtrMetadataRequest()
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = kmsg.StringPtr(topic)
	meta.Topics = []kmsg.MetadataRequestTopic{mt}
	resp, err := meta.RequestWith(ctx, cl)
	if err != nil {
		return kmsg.MetadataResponseTopic{}, err
	}
	if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 || len(resp.Topics[0].Partitions) == 0 {
		return kmsg.MetadataResponseTopic{}, fmt.Errorf("no topic %s in metadata", topic)
	}
	return resp.Topics[0], nil
}

// walkBatches returns the offset after the last whole batch in `b` and the
// records in the whole batches (a fetch may end with part of a batch).
func walkBatches(b []byte) (next int64, records int) {
	for len(b) >= 61 {
		length := int(int32(binary.BigEndian.Uint32(b[8:])))
		if length < 49 || 12+length > len(b) {
			break
		}
		base := int64(binary.BigEndian.Uint64(b))
		last := int64(int32(binary.BigEndian.Uint32(b[23:])))
		next = base + last + 1
		records += int(int32(binary.BigEndian.Uint32(b[57:])))
		b = b[12+length:]
	}
	return next, records
}
