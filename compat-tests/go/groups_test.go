package compat

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Consumer groups with franz-go: seed 004's experiments, cooperative-sticky,
// static membership, a member killed with SIGKILL (this test binary re-run as a
// child), kadm's group calls, and committed offsets across a broker crash.

const (
	groupWait      = 30 * time.Second
	sessionTimeout = 6 * time.Second // the broker's group.min.session.timeout.ms
)

// member is one group member polling on its own goroutine.
type member struct {
	cl      *kgo.Client
	mu      sync.Mutex
	records []*kgo.Record
	cancel  context.CancelFunc
	done    chan struct{}
}

func groupOpts(topic, group string, extra ...kgo.Opt) []kgo.Opt {
	return append([]kgo.Opt{
		kgo.SeedBrokers(os.Getenv("STROM_BOOTSTRAP")),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.SessionTimeout(sessionTimeout),
		kgo.HeartbeatInterval(time.Second),
		kgo.MetadataMinAge(100 * time.Millisecond),
	}, extra...)
}

func newMember(t *testing.T, topic, group string, extra ...kgo.Opt) *member {
	t.Helper()
	cl, err := kgo.NewClient(groupOpts(topic, group, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &member{cl: cl, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		for ctx.Err() == nil {
			fetches := cl.PollFetches(ctx)
			m.mu.Lock()
			fetches.EachRecord(func(r *kgo.Record) { m.records = append(m.records, r) })
			m.mu.Unlock()
		}
	}()
	t.Cleanup(m.close)
	return m
}

// commit commits what the member has polled.
func (m *member) commit(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := m.cl.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatalf("commit: %v", err)
	}
}

// close leaves the group (LeaveGroup) and stops the member; safe to call twice.
func (m *member) close() {
	m.cancel()
	<-m.done
	m.cl.Close()
}

func (m *member) values() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.records))
	for _, r := range m.records {
		out = append(out, string(r.Value))
	}
	return out
}

func (m *member) partitions() map[int32]bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[int32]bool{}
	for _, r := range m.records {
		out[r.Partition] = true
	}
	return out
}

// assigned is the member's current assignment, by the group's view (kadm).
func assigned(t *testing.T, adm *kadm.Client, group string) map[string]int {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	described, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		return nil
	}
	out := map[string]int{}
	g := described[group]
	for _, m := range g.Members {
		c, ok := m.Assigned.AsConsumer()
		if !ok {
			continue
		}
		n := 0
		for _, tp := range c.Topics {
			n += len(tp.Partitions)
		}
		out[m.MemberID] = n
	}
	return out
}

// waitAssignment waits until the group's members own partitions in these numbers (any order).
func waitAssignment(t *testing.T, adm *kadm.Client, group string, sizes ...int) {
	t.Helper()
	want := slices.Clone(sizes)
	sort.Ints(want)
	var got []int
	if !waitFor(groupWait, func() bool {
		got = got[:0]
		for _, n := range assigned(t, adm, group) {
			got = append(got, n)
		}
		sort.Ints(got)
		return slices.Equal(got, want)
	}) {
		t.Fatalf("assignment sizes %v, want %v", got, want)
	}
}

func waitFor(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

func valueList(n int, prefix string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

// produceTo sends values, record i to partition partition(i) (or the default partitioner when nil).
func produceTo(t *testing.T, topic string, values []string, key func(int) string, partition func(int) int32) {
	t.Helper()
	opts := []kgo.Opt{kgo.DefaultProduceTopic(topic), kgo.AllowAutoTopicCreation()}
	if partition != nil {
		opts = append(opts, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	}
	cl, _, ctx := clients(t, opts...)
	records := make([]*kgo.Record, len(values))
	for i, v := range values {
		records[i] = &kgo.Record{Value: []byte(v)}
		if key != nil {
			records[i].Key = []byte(key(i))
		}
		if partition != nil {
			records[i].Partition = partition(i)
		}
	}
	if err := cl.ProduceSync(ctx, records...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

func allValues(members ...*member) []string {
	var out []string
	for _, m := range members {
		out = append(out, m.values()...)
	}
	sort.Strings(out)
	return out
}

func sortedCopy(values []string) []string {
	out := slices.Clone(values)
	sort.Strings(out)
	return out
}

func waitValues(t *testing.T, want []string, members ...*member) {
	t.Helper()
	want = sortedCopy(want)
	if !waitFor(groupWait, func() bool { return slices.Equal(allValues(members...), want) }) {
		t.Fatalf("received %d records, want exactly %d", len(allValues(members...)), len(want))
	}
}

func TestGroupCatchesUpOnRecordsSentWhileOffline(t *testing.T) {
	topic := uniqueTopic(t)
	group := topic + "-g"
	produceTo(t, topic, valueList(5, "before"), nil, nil)
	m := newMember(t, topic, group)
	waitValues(t, valueList(5, "before"), m)
	m.commit(t)
	m.close()
	produceTo(t, topic, valueList(7, "offline"), nil, nil)
	m = newMember(t, topic, group)
	waitValues(t, valueList(7, "offline"), m)
	time.Sleep(300 * time.Millisecond)
	if got := m.values(); !slices.Equal(got, valueList(7, "offline")) {
		t.Fatalf("got %v", got)
	}
}

func TestGroupKeepsTheOrderOfEachKey(t *testing.T) {
	topic := uniqueTopic(t)
	_, adm, ctx := clients(t)
	createTopic(t, ctx, adm, 3, nil, topic)
	values := make([]string, 120)
	for i := range values {
		values[i] = fmt.Sprint(i)
	}
	produceTo(t, topic, values, func(i int) string { return fmt.Sprintf("user-%d", i%6) }, nil)
	m := newMember(t, topic, topic+"-g")
	waitValues(t, values, m)
	last := map[int]int{}
	for _, v := range m.values() {
		var n int
		fmt.Sscan(v, &n)
		if prev, ok := last[n%6]; ok && prev > n {
			t.Fatalf("key %d: %d after %d", n%6, n, prev)
		}
		last[n%6] = n
	}
}

func TestGroupSharesPartitionsAndTakesOverFromALeaver(t *testing.T) {
	for _, tc := range []struct {
		name     string
		balancer kgo.GroupBalancer
	}{{"range", kgo.RangeBalancer()}, {"cooperative-sticky", kgo.CooperativeStickyBalancer()}} {
		t.Run(tc.name, func(t *testing.T) {
			topic := uniqueTopic(t)
			group := topic + "-g"
			_, adm, ctx := clients(t)
			createTopic(t, ctx, adm, 3, nil, topic)
			var members []*member
			for range 3 {
				members = append(members, newMember(t, topic, group, kgo.Balancers(tc.balancer)))
			}
			waitAssignment(t, adm, group, 1, 1, 1)
			produceTo(t, topic, valueList(90, "a"), nil, func(i int) int32 { return int32(i % 3) })
			waitValues(t, valueList(90, "a"), members...)
			for _, m := range members {
				if n := len(m.values()); n != 30 {
					t.Fatalf("a member got %d records, want 30 (one partition each)", n)
				}
				if len(m.partitions()) != 1 {
					t.Fatalf("a member read %d partitions", len(m.partitions()))
				}
				m.commit(t)
			}
			members[0].close()
			rest := members[1:]
			waitAssignment(t, adm, group, 1, 2)
			// Nothing is read twice: the leaver's partition resumes at its commit.
			before := allValues(rest...)
			produceTo(t, topic, valueList(60, "b"), nil, func(i int) int32 { return int32(i % 3) })
			want := append(valueList(60, "b"), before...)
			waitValues(t, want, rest...)
		})
	}
}

// TestChildMember is not a test: it is this binary re-run as a group member
// that the parent kills (STROM_CHILD_GROUP set), printing its assignment.
func TestChildMember(t *testing.T) {
	group := os.Getenv("STROM_CHILD_GROUP")
	if group == "" {
		t.Skip("only runs as a child of TestGroupReplacesAKilledMemberAfterItsSessionTimeout")
	}
	cl, err := kgo.NewClient(groupOpts(os.Getenv("STROM_CHILD_TOPIC"), group,
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, m map[string][]int32) {
			for _, ps := range m {
				fmt.Printf("assigned %d\n", len(ps))
			}
		}))...)
	if err != nil {
		t.Fatal(err)
	}
	for {
		cl.PollFetches(context.Background())
	}
}

func TestGroupReplacesAKilledMemberAfterItsSessionTimeout(t *testing.T) {
	topic := uniqueTopic(t)
	group := topic + "-g"
	_, adm, ctx := clients(t)
	createTopic(t, ctx, adm, 2, nil, topic)
	child := exec.Command(os.Args[0], "-test.run", "^TestChildMember$", "-test.timeout", "120s")
	child.Env = append(os.Environ(), "STROM_CHILD_GROUP="+group, "STROM_CHILD_TOPIC="+topic)
	out, err := child.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer child.Process.Kill()
	lines := bufio.NewScanner(out)
	for lines.Scan() && lines.Text() != "assigned 2" {
	}
	go func() {
		for lines.Scan() {
		}
	}()
	survivor := newMember(t, topic, group)
	waitAssignment(t, adm, group, 1, 1)
	if err := child.Process.Kill(); err != nil { // SIGKILL: no LeaveGroup
		t.Fatal(err)
	}
	child.Wait()
	killed := time.Now()
	waitAssignment(t, adm, group, 2)
	if waited := time.Since(killed); waited < sessionTimeout-1500*time.Millisecond {
		t.Fatalf("partitions moved after %v, before the session timeout", waited)
	}
	produceTo(t, topic, valueList(40, "v"), nil, func(i int) int32 { return int32(i % 2) })
	waitValues(t, valueList(40, "v"), survivor)
}

func TestGroupStaticMemberRestartsWithoutARebalance(t *testing.T) {
	topic := uniqueTopic(t)
	group := topic + "-g"
	_, adm, ctx := clients(t)
	createTopic(t, ctx, adm, 2, nil, topic)
	a := newMember(t, topic, group, kgo.InstanceID("static-a"))
	b := newMember(t, topic, group, kgo.InstanceID("static-b"))
	waitAssignment(t, adm, group, 1, 1)
	before, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	// franz-go's Close leaves the group only for dynamic members: a static one stays.
	a.close()
	a = newMember(t, topic, group, kgo.InstanceID("static-a"))
	produceTo(t, topic, valueList(20, "s"), nil, func(i int) int32 { return int32(i % 2) })
	waitValues(t, valueList(20, "s"), a, b)
	after, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	if before[group].State != "Stable" || after[group].State != "Stable" {
		t.Fatalf("states %s, %s", before[group].State, after[group].State)
	}
	instances := func(g kadm.DescribedGroup) []string {
		var out []string
		for _, m := range g.Members {
			if m.InstanceID != nil {
				out = append(out, *m.InstanceID)
			}
		}
		sort.Strings(out)
		return out
	}
	if got := instances(after[group]); !slices.Equal(got, []string{"static-a", "static-b"}) {
		t.Fatalf("instances %v", got)
	}
}

func TestGroupRestartedConsumerContinuesAfterItsLastCommit(t *testing.T) {
	topic := uniqueTopic(t)
	group := topic + "-g"
	produceTo(t, topic, valueList(10, "old"), nil, nil)
	m := newMember(t, topic, group)
	waitValues(t, valueList(10, "old"), m)
	m.commit(t)
	m.close()
	produceTo(t, topic, valueList(3, "new"), nil, nil)
	m = newMember(t, topic, group)
	waitValues(t, valueList(3, "new"), m)
}

func TestTwoGroupsEachReceiveEveryRecord(t *testing.T) {
	topic := uniqueTopic(t)
	_, adm, ctx := clients(t)
	createTopic(t, ctx, adm, 2, nil, topic)
	produceTo(t, topic, valueList(50, "f"), nil, func(i int) int32 { return int32(i % 2) })
	a := newMember(t, topic, topic+"-a")
	b := newMember(t, topic, topic+"-b")
	waitValues(t, valueList(50, "f"), a)
	waitValues(t, valueList(50, "f"), b)
}

func TestGroupAdminListsDescribesCommitsAndDeletes(t *testing.T) {
	topic := uniqueTopic(t)
	group := topic + "-g"
	produceTo(t, topic, valueList(4, "x"), nil, nil)
	_, adm, ctx := clients(t)
	m := newMember(t, topic, group)
	waitValues(t, valueList(4, "x"), m)
	m.commit(t)
	listed, err := adm.ListGroups(ctx)
	if err != nil || !slices.Contains(listed.Groups(), group) {
		t.Fatalf("ListGroups: %v %v", listed.Groups(), err)
	}
	described, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	if g := described[group]; g.State != "Stable" || g.Protocol != "cooperative-sticky" || g.ProtocolType != "consumer" || len(g.Members) != 1 {
		t.Fatalf("described %+v", g)
	}
	m.close()
	offsets, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := offsets.Lookup(topic, 0); o.At != 4 {
		t.Fatalf("committed %+v, want 4", o)
	}
	set := kadm.Offsets{}
	set.Add(kadm.Offset{Topic: topic, Partition: 0, At: 1, LeaderEpoch: -1, Metadata: "rewound"})
	if err := adm.CommitAllOffsets(ctx, group, set); err != nil {
		t.Fatal(err)
	}
	offsets, _ = adm.FetchOffsets(ctx, group)
	if o, _ := offsets.Lookup(topic, 0); o.At != 1 || o.Metadata != "rewound" {
		t.Fatalf("after commit %+v", o)
	}
	deleted, err := adm.DeleteGroups(ctx, group)
	if err != nil || deleted[group].Err != nil {
		t.Fatalf("DeleteGroups: %v %v", deleted, err)
	}
	listed, _ = adm.ListGroups(ctx)
	if slices.Contains(listed.Groups(), group) {
		t.Fatal("deleted group still listed")
	}
}

// restartBroker asks the harness (STROM_CONTROL) to kill -9 the broker and start it again.
func restartBroker(t *testing.T) {
	t.Helper()
	addr := os.Getenv("STROM_CONTROL")
	if addr == "" {
		t.Skip("STROM_CONTROL is not set: the broker cannot be restarted")
	}
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(60 * time.Second))
	fmt.Fprintln(conn, "kill")
	answer, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || strings.TrimSpace(answer) != "ok" {
		t.Fatalf("restart: %q %v", answer, err)
	}
}

func TestGroupRecordsAndOffsetsSurviveABrokerCrash(t *testing.T) {
	topic := uniqueTopic(t)
	group := topic + "-g"
	produceTo(t, topic, valueList(6, "c"), nil, nil)
	m := newMember(t, topic, group)
	waitValues(t, valueList(6, "c"), m)
	m.commit(t)
	m.close()
	restartBroker(t)
	produceTo(t, topic, valueList(2, "after"), nil, nil)
	m = newMember(t, topic, group)
	waitValues(t, valueList(2, "after"), m)
	// Nothing written before the crash was lost: a new group reads it all.
	fresh := newMember(t, topic, group+"-fresh")
	waitValues(t, append(valueList(6, "c"), valueList(2, "after")...), fresh)
}
