package compat

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Transactions with franz-go: a commit makes every record of the transaction
// visible at once, an abort hides them from read_committed consumers
// (read_uncommitted ones see them), a second producer with the same
// transactional id fences the first, and a consume-transform-produce loop
// (GroupTransactSession) delivers each input exactly once across a kill -9 of
// itself in the middle of a transaction.

// txnClient is a transactional producer; its transactions time out after 10 s
// if a test leaves one behind.
func txnClient(t *testing.T, id string, extra ...kgo.Opt) (*kgo.Client, context.Context) {
	t.Helper()
	opts := append([]kgo.Opt{kgo.TransactionalID(id), kgo.TransactionTimeout(10 * time.Second), kgo.RecordPartitioner(kgo.ManualPartitioner())}, extra...)
	cl, _, ctx := clients(t, opts...)
	return cl, ctx
}

// readAll reads every value of topics from the start: until expect values
// arrived (then a second more, to catch extras), or, with expect 0, until
// nothing arrived for a second.
func readAll(t *testing.T, topics []string, committed bool, expect int) []string {
	t.Helper()
	isolation := kgo.ReadUncommitted()
	if committed {
		isolation = kgo.ReadCommitted()
	}
	cl, _, _ := clients(t, kgo.ConsumeTopics(topics...), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(isolation))
	var values []string
	deadline := time.Now().Add(40 * time.Second)
	last := time.Now()
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		fetches := cl.PollFetches(ctx)
		cancel()
		fetches.EachRecord(func(r *kgo.Record) {
			values = append(values, string(r.Value))
			last = time.Now()
		})
		if len(values) >= expect && time.Since(last) > time.Second {
			break
		}
	}
	return values
}

func TestTxnCommitMakesEveryRecordVisibleAtOnce(t *testing.T) {
	a, b := uniqueTopic(t)+"-a", uniqueTopic(t)+"-b"
	_, adm, ctx := clients(t)
	createTopic(t, ctx, adm, 2, nil, a)
	createTopic(t, ctx, adm, 1, nil, b)
	cl, ctx := txnClient(t, uniqueTopic(t)+"-txn")
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	var expected []string
	for i := 0; i < 6; i++ {
		ra := &kgo.Record{Topic: a, Partition: int32(i % 2), Value: []byte(fmt.Sprintf("a%d", i))}
		rb := &kgo.Record{Topic: b, Value: []byte(fmt.Sprintf("b%d", i))}
		if err := cl.ProduceSync(ctx, ra, rb).FirstErr(); err != nil {
			t.Fatal(err)
		}
		expected = append(expected, string(ra.Value), string(rb.Value))
	}
	if got := readAll(t, []string{a, b}, true, 0); len(got) != 0 {
		t.Fatalf("read_committed before the commit: %v", got)
	}
	if got := readAll(t, []string{a, b}, false, 12); len(got) != 12 {
		t.Fatalf("read_uncommitted: %v", got)
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, []string{a, b}, true, 12); !slices.Equal(sortedCopy(got), sortedCopy(expected)) {
		t.Fatalf("read_committed after the commit: %v", got)
	}
}

func TestTxnAbortHidesTheRecordsFromReadCommittedOnly(t *testing.T) {
	topic := uniqueTopic(t)
	_, adm, ctx := clients(t)
	createTopic(t, ctx, adm, 1, nil, topic)
	cl, ctx := txnClient(t, topic+"-txn")
	for _, commit := range []bool{false, true} {
		if err := cl.BeginTransaction(); err != nil {
			t.Fatal(err)
		}
		values := []string{"aborted-1", "aborted-2"}
		if commit {
			values = []string{"committed"}
		}
		for _, v := range values {
			if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(v)}).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			t.Fatal(err)
		}
	}
	if got := readAll(t, []string{topic}, true, 1); !slices.Equal(got, []string{"committed"}) {
		t.Fatalf("read_committed: %v", got)
	}
	if got := readAll(t, []string{topic}, false, 3); !slices.Equal(got, []string{"aborted-1", "aborted-2", "committed"}) {
		t.Fatalf("read_uncommitted: %v", got)
	}
}

func TestTxnASecondProducerWithTheSameIdFencesTheFirst(t *testing.T) {
	topic := uniqueTopic(t)
	_, adm, ctx := clients(t)
	createTopic(t, ctx, adm, 1, nil, topic)
	first, ctx := txnClient(t, topic+"-txn")
	second, _ := txnClient(t, topic+"-txn")
	produce := func(cl *kgo.Client, v string) error {
		return cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(v)}).FirstErr()
	}
	if err := first.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := produce(first, "zombie"); err != nil {
		t.Fatal(err)
	}
	// The second producer's InitProducerId aborts the first one's transaction.
	if err := second.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	if err := produce(second, "winner"); err != nil {
		t.Fatal(err)
	}
	if err := first.EndTransaction(ctx, kgo.TryCommit); !errors.Is(err, kerr.ProducerFenced) {
		t.Fatalf("the first producer's commit: %v, want PRODUCER_FENCED", err)
	}
	if err := second.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, []string{topic}, true, 1); !slices.Equal(got, []string{"winner"}) {
		t.Fatalf("read_committed: %v", got)
	}
}

// TestChildTxnApp is not a test: it is this binary re-run as a
// consume-transform-produce application (STROM_TXN_APP set to "input output
// group transactional-id stall-at") that the parent kills. It reads the input
// as a static member, writes each value upper-cased to the output and commits
// the consumed offsets in the same transaction, a few records at a time,
// printing "txn N" after each commit; transaction stall-at, once its records
// are written, prints "open N" and stalls.
func TestChildTxnApp(t *testing.T) {
	args := strings.Fields(os.Getenv("STROM_TXN_APP"))
	if len(args) != 5 {
		t.Skip("only runs as a child of TestTxnConsumeTransformProduceIsExactlyOnceAcrossAKill")
	}
	input, output, group, id := args[0], args[1], args[2], args[3]
	stallAt, _ := strconv.Atoi(args[4])
	sess, err := kgo.NewGroupTransactSession(append(groupOpts(input, group),
		kgo.TransactionalID(id),
		kgo.TransactionTimeout(10*time.Second),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.InstanceID("txn-app"),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
	)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for committed := 0; ; {
		fetches := sess.PollRecords(ctx, 5)
		var records []*kgo.Record
		fetches.EachRecord(func(r *kgo.Record) { records = append(records, r) })
		if len(records) == 0 {
			continue
		}
		if err := sess.Begin(); err != nil {
			t.Fatal(err)
		}
		for _, r := range records {
			out := &kgo.Record{Topic: output, Partition: r.Partition, Value: []byte(strings.ToUpper(string(r.Value)))}
			if err := sess.ProduceSync(ctx, out).FirstErr(); err != nil {
				t.Fatal(err)
			}
		}
		if committed+1 == stallAt {
			fmt.Printf("open %d\n", stallAt)
			time.Sleep(time.Minute)
		}
		ok, err := sess.End(ctx, kgo.TryCommit)
		if err != nil || !ok {
			t.Fatalf("commit: %v %v", ok, err)
		}
		committed++
		fmt.Printf("txn %d\n", committed)
	}
}

func TestTxnConsumeTransformProduceIsExactlyOnceAcrossAKill(t *testing.T) {
	input, output := uniqueTopic(t)+"-in", uniqueTopic(t)+"-out"
	_, adm, ctx := clients(t)
	createTopic(t, ctx, adm, 2, nil, input)
	createTopic(t, ctx, adm, 2, nil, output)
	inputs := make([]string, 120)
	for i := range inputs {
		inputs[i] = fmt.Sprintf("record-%03d", i)
	}
	produceTo(t, input, inputs, nil, func(i int) int32 { return int32(i % 2) })
	group, id := input+"-g", input+"-txn"
	start := func(stallAt int) (*exec.Cmd, *bufio.Scanner) {
		child := exec.Command(os.Args[0], "-test.run", "^TestChildTxnApp$", "-test.timeout", "120s")
		child.Env = append(os.Environ(), fmt.Sprintf("STROM_TXN_APP=%s %s %s %s %d", input, output, group, id, stallAt))
		out, err := child.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := child.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { child.Process.Kill(); child.Wait() })
		return child, bufio.NewScanner(out)
	}
	// Killed in its 5th transaction, after 4 committed ones, with that one's records written.
	app, lines := start(5)
	var commits []string
	for lines.Scan() && lines.Text() != "open 5" {
		if strings.HasPrefix(lines.Text(), "txn ") {
			commits = append(commits, lines.Text())
		}
	}
	if err := app.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	app.Wait()
	if !slices.Equal(commits, []string{"txn 1", "txn 2", "txn 3", "txn 4"}) {
		t.Fatalf("before the kill: %v", commits)
	}
	_, lines = start(0)
	go func() {
		for lines.Scan() {
		}
	}()
	want := make([]string, len(inputs))
	for i, v := range inputs {
		want[i] = strings.ToUpper(v)
	}
	if got := readAll(t, []string{output}, true, len(inputs)); !slices.Equal(sortedCopy(got), sortedCopy(want)) {
		t.Fatalf("read_committed output (%d records) is not each input exactly once", len(got))
	}
	if got := readAll(t, []string{output}, false, len(inputs)+1); len(got) <= len(inputs) {
		t.Fatalf("read_uncommitted has %d records: the killed transaction's are missing", len(got))
	}
}
