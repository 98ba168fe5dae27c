package compat

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// produceAndConsume sends n records to partition 0 with the given producer
// options, then reads them back from the start by direct partition
// assignment, checking offsets and values in order.
func produceAndConsume(t *testing.T, n int, opts ...kgo.Opt) {
	topic := uniqueTopic(t)
	opts = append([]kgo.Opt{kgo.DefaultProduceTopic(topic), kgo.AllowAutoTopicCreation(),
		kgo.RecordPartitioner(kgo.ManualPartitioner())}, opts...)
	producer, _, ctx := clients(t, opts...)
	records := make([]*kgo.Record, n)
	for i := range records {
		records[i] = &kgo.Record{Value: []byte(fmt.Sprintf("value-%d", i)), Partition: 0}
	}
	if err := producer.ProduceSync(ctx, records...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	consumer, _, ctx := clients(t, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{
		topic: {0: kgo.NewOffset().AtStart()},
	}))
	got := 0
	for got < n {
		fetches := consumer.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumed %d of %d records: %v", got, n, err)
		}
		fetches.EachRecord(func(r *kgo.Record) {
			want := fmt.Sprintf("value-%d", got)
			if r.Offset != int64(got) || string(r.Value) != want {
				t.Fatalf("record %d: offset %d value %q, want offset %d value %q", got, r.Offset, r.Value, got, want)
			}
			got++
		})
	}
}

// franz-go is idempotent by default and compresses with snappy.
func TestProduceConsumeDefaults(t *testing.T) { produceAndConsume(t, 500) }

func TestProduceConsumeEachCodec(t *testing.T) {
	for name, codec := range map[string]kgo.CompressionCodec{
		"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(), "lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression(),
	} {
		t.Run(name, func(t *testing.T) { produceAndConsume(t, 200, kgo.ProducerBatchCompression(codec)) })
	}
}

func TestProduceConsumeAcksLeaderOnlyNotIdempotent(t *testing.T) {
	produceAndConsume(t, 200, kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite())
}

func TestListOffsets(t *testing.T) {
	topic := uniqueTopic(t)
	producer, adm, ctx := clients(t, kgo.DefaultProduceTopic(topic), kgo.AllowAutoTopicCreation())
	base := time.UnixMilli(1_700_000_000_000)
	for i := 0; i < 5; i++ {
		r := &kgo.Record{Value: []byte("t"), Partition: 0, Timestamp: base.Add(time.Duration(i) * time.Second)}
		if err := producer.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatalf("produce: %v", err)
		}
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		t.Fatalf("ListEndOffsets: %v", err)
	}
	if o, _ := ends.Lookup(topic, 0); o.Offset != 5 {
		t.Fatalf("end offset %d, want 5", o.Offset)
	}
	byTime, err := adm.ListOffsetsAfterMilli(ctx, base.UnixMilli()+2500, topic)
	if err != nil {
		t.Fatalf("ListOffsetsAfterMilli: %v", err)
	}
	if o, _ := byTime.Lookup(topic, 0); o.Offset != 3 {
		t.Fatalf("offset after time %d, want 3", o.Offset)
	}
}

// acks=0: the producer gets no answer, yet the records are in the log.
func TestProduceWithoutAcksArrives(t *testing.T) {
	topic := uniqueTopic(t)
	producer, adm, ctx := clients(t, kgo.DefaultProduceTopic(topic), kgo.AllowAutoTopicCreation(),
		kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite(), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	for i := range 10 {
		producer.Produce(ctx, &kgo.Record{Value: []byte(fmt.Sprintf("fire-%d", i)), Partition: 0}, nil)
	}
	if err := producer.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if !eventually(func() bool {
		ends, err := adm.ListEndOffsets(ctx, topic)
		o, _ := ends.Lookup(topic, 0)
		return err == nil && o.Offset == 10
	}) {
		t.Fatal("the 10 acks=0 records never reached the log")
	}
}

// A consumer starting at the end sees only what is produced after it started.
func TestConsumeFromTheLatestOffset(t *testing.T) {
	topic := uniqueTopic(t)
	produceTo(t, topic, valueList(5, "old"), nil, func(int) int32 { return 0 })
	consumer, _, ctx := clients(t, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtEnd()}}))
	// The first poll resolves the end offset (5) before anything new is written.
	probe, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	consumer.PollFetches(probe)
	cancel()
	produceTo(t, topic, valueList(2, "new"), nil, func(int) int32 { return 0 })
	var got []string
	for len(got) < 2 && ctx.Err() == nil {
		consumer.PollFetches(ctx).EachRecord(func(r *kgo.Record) { got = append(got, fmt.Sprintf("%d:%s", r.Offset, r.Value)) })
	}
	if want := []string{"5:new-0", "6:new-1"}; !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}
