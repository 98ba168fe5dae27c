package compat

import (
	"errors"
	"net"
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const oneHourMs = "3600000"

func TestMetadataBrokersAndController(t *testing.T) {
	_, adm, ctx := clients(t)
	meta, err := adm.Metadata(ctx)
	if err != nil {
		t.Fatalf("Metadata: %v", err)
	}
	host, port, _ := net.SplitHostPort(bootstrap(t))
	wantPort, _ := strconv.Atoi(port)
	if len(meta.Brokers) != 1 {
		t.Fatalf("brokers = %+v, want exactly node 1", meta.Brokers)
	}
	b := meta.Brokers[0]
	if b.NodeID != 1 || b.Host != host || int(b.Port) != wantPort {
		t.Errorf("broker = %d %s:%d, want 1 %s:%d", b.NodeID, b.Host, b.Port, host, wantPort)
	}
	if meta.Controller != 1 {
		t.Errorf("controller = %d, want 1", meta.Controller)
	}
	if meta.Cluster == "" {
		t.Error("cluster id is empty")
	}
}

func TestCreateTopicWithPartitionsAndConfig(t *testing.T) {
	_, adm, ctx := clients(t)
	topic := uniqueTopic(t)
	retention := oneHourMs
	resp := createTopic(t, ctx, adm, 3, map[string]*string{"retention.ms": &retention}, topic)
	if resp.ID == (kadm.TopicID{}) {
		t.Error("CreateTopics returned a zero topic id")
	}
	if resp.NumPartitions != 3 || resp.ReplicationFactor != 1 {
		t.Errorf("CreateTopics returned %d partitions, rf %d; want 3, 1", resp.NumPartitions, resp.ReplicationFactor)
	}
	if !eventually(func() bool { return listed(ctx, adm, topic) }) {
		t.Fatalf("%s not listed after creation", topic)
	}
	details, err := adm.ListTopics(ctx, topic)
	if err != nil {
		t.Fatalf("ListTopics: %v", err)
	}
	d := details[topic]
	if d.Err != nil || d.ID != resp.ID || d.IsInternal {
		t.Errorf("topic detail err=%v id=%v internal=%v, want nil %v false", d.Err, d.ID, d.IsInternal, resp.ID)
	}
	if len(d.Partitions) != 3 {
		t.Fatalf("partitions = %d, want 3", len(d.Partitions))
	}
	for _, p := range d.Partitions.Sorted() {
		if p.Leader != 1 || len(p.Replicas) != 1 || p.Replicas[0] != 1 || len(p.ISR) != 1 || p.ISR[0] != 1 || p.Err != nil {
			t.Errorf("partition %d: leader %d replicas %v isr %v err %v; want 1 [1] [1] nil", p.Partition, p.Leader, p.Replicas, p.ISR, p.Err)
		}
	}
}

func TestCreateExistingTopicFails(t *testing.T) {
	_, adm, ctx := clients(t)
	topic := uniqueTopic(t)
	createTopic(t, ctx, adm, 1, nil, topic)
	_, err := adm.CreateTopic(ctx, 2, 1, nil, topic)
	if !errors.Is(err, kerr.TopicAlreadyExists) {
		t.Fatalf("second CreateTopic: %v, want TOPIC_ALREADY_EXISTS", err)
	}
}

func TestCreateTopicValidateOnly(t *testing.T) {
	_, adm, ctx := clients(t)
	topic := uniqueTopic(t)
	resps, err := adm.ValidateCreateTopics(ctx, 2, 1, nil, topic)
	if err != nil {
		t.Fatalf("ValidateCreateTopics: %v", err)
	}
	if r := resps[topic]; r.Err != nil || r.NumPartitions != 2 {
		t.Errorf("validate-only response err=%v partitions=%d, want nil 2", r.Err, r.NumPartitions)
	}
	if listed(ctx, adm, topic) {
		t.Error("validate-only CreateTopics created the topic")
	}
}

func TestCreateTopicInvalidArguments(t *testing.T) {
	_, adm, ctx := clients(t)
	bogus := "1"
	cases := []struct {
		name       string
		partitions int32
		rf         int16
		configs    map[string]*string
		want       error
	}{
		{"replication-factor-3", 1, 3, nil, kerr.InvalidReplicationFactor},
		{"zero-partitions", 0, 1, nil, kerr.InvalidPartitions},
		{"unknown-config", 1, 1, map[string]*string{"no.such.config": &bogus}, kerr.InvalidConfig},
	}
	for _, c := range cases {
		_, err := adm.CreateTopic(ctx, c.partitions, c.rf, c.configs, uniqueTopic(t)+c.name)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
}

func TestDeleteTopics(t *testing.T) {
	_, adm, ctx := clients(t)
	topic := uniqueTopic(t)
	createTopic(t, ctx, adm, 2, nil, topic)
	resps, err := adm.DeleteTopics(ctx, topic)
	if err != nil || resps[topic].Err != nil {
		t.Fatalf("DeleteTopics: %v / %v", err, resps[topic].Err)
	}
	if !eventually(func() bool { return !listed(ctx, adm, topic) }) {
		t.Fatalf("%s still listed after deletion", topic)
	}
	resps, err = adm.DeleteTopics(ctx, topic)
	if err != nil {
		t.Fatalf("second DeleteTopics: %v", err)
	}
	if !errors.Is(resps[topic].Err, kerr.UnknownTopicOrPartition) {
		t.Errorf("deleting a deleted topic: %v, want UNKNOWN_TOPIC_OR_PARTITION", resps[topic].Err)
	}
}

func TestCreatePartitions(t *testing.T) {
	_, adm, ctx := clients(t)
	topic := uniqueTopic(t)
	createTopic(t, ctx, adm, 1, nil, topic)
	resps, err := adm.CreatePartitions(ctx, 3, topic)
	if err != nil || resps[topic].Err != nil {
		t.Fatalf("CreatePartitions +3: %v / %v", err, resps[topic].Err)
	}
	if !eventually(func() bool {
		d, err := adm.ListTopics(ctx, topic)
		return err == nil && len(d[topic].Partitions) == 4
	}) {
		t.Fatalf("%s does not have 4 partitions after CreatePartitions", topic)
	}
	resps, err = adm.UpdatePartitions(ctx, 2, topic)
	if err != nil {
		t.Fatalf("UpdatePartitions to 2: %v", err)
	}
	if !errors.Is(resps[topic].Err, kerr.InvalidPartitions) {
		t.Errorf("shrinking to 2 partitions: %v, want INVALID_PARTITIONS", resps[topic].Err)
	}
}

func TestDescribeTopicConfigs(t *testing.T) {
	_, adm, ctx := clients(t)
	topic := uniqueTopic(t)
	retention := oneHourMs
	createTopic(t, ctx, adm, 1, map[string]*string{"retention.ms": &retention}, topic)
	rcs, err := adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		t.Fatalf("DescribeTopicConfigs: %v", err)
	}
	rc, err := rcs.On(topic, nil)
	if err != nil || rc.Err != nil {
		t.Fatalf("configs of %s: %v / %v", topic, err, rc.Err)
	}
	want := map[string]struct {
		value  string
		source kmsg.ConfigSource
	}{
		"retention.ms":   {oneHourMs, kmsg.ConfigSourceDynamicTopicConfig},
		"cleanup.policy": {"delete", kmsg.ConfigSourceDefaultConfig},
	}
	seen := 0
	for _, c := range rc.Configs {
		w, ok := want[c.Key]
		if !ok {
			continue
		}
		seen++
		if c.MaybeValue() != w.value || c.Source != w.source {
			t.Errorf("%s = %q (source %v), want %q (source %v)", c.Key, c.MaybeValue(), c.Source, w.value, w.source)
		}
	}
	if seen != len(want) {
		t.Errorf("found %d of the configs %v", seen, want)
	}
}

func TestDescribeBrokerConfigs(t *testing.T) {
	_, adm, ctx := clients(t)
	rcs, err := adm.DescribeBrokerConfigs(ctx, 1)
	if err != nil {
		t.Fatalf("DescribeBrokerConfigs: %v", err)
	}
	rc, err := rcs.On("1", nil)
	if err != nil || rc.Err != nil {
		t.Fatalf("configs of broker 1: %v / %v", err, rc.Err)
	}
	values := map[string]string{}
	for _, c := range rc.Configs {
		values[c.Key] = c.MaybeValue()
	}
	if values["num.partitions"] != "1" {
		t.Errorf("num.partitions = %q, want \"1\"", values["num.partitions"])
	}
}

func TestAutoCreateThroughMetadata(t *testing.T) {
	cl, adm, ctx := clients(t, kgo.AllowAutoTopicCreation())
	topic := uniqueTopic(t)
	var partitions int
	// Kafka answers the first request with LEADER_NOT_AVAILABLE while it creates the topic.
	ok := eventually(func() bool {
		req := kmsg.NewPtrMetadataRequest()
		reqTopic := kmsg.NewMetadataRequestTopic()
		reqTopic.Topic = kmsg.StringPtr(topic)
		req.Topics = append(req.Topics, reqTopic)
		req.AllowAutoTopicCreation = true
		resp, err := req.RequestWith(ctx, cl)
		if err != nil || len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 {
			return false
		}
		partitions = len(resp.Topics[0].Partitions)
		return true
	})
	if !ok {
		t.Fatalf("%s was not auto-created through Metadata", topic)
	}
	if partitions != 1 {
		t.Errorf("auto-created topic has %d partitions, want the default 1", partitions)
	}
	if !listed(ctx, adm, topic) {
		t.Errorf("auto-created %s is not listed", topic)
	}
}
