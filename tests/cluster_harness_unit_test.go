package tests

import (
	"reflect"
	"testing"

	"github.com/streamsql/streamsql/cluster"
)

// TestClusterPollerJudges checks the acceptance test's own judge of lease
// items, without servers: each bad step between two reads is named, and
// what takes, commits and releases do is not.
func TestClusterPollerJudges(t *testing.T) {
	at := func(owner string, counter int64, epoch uint64) leaseObs {
		return leaseObs{owner: owner, counter: counter, epoch: epoch}
	}
	for _, c := range []struct {
		name       string
		prev, next leaseObs
		faults     int
	}{
		{"commit", at("n1", 3, 10), at("n1", 3, 11), 0},
		{"take from a gone node", at("n1", 3, 10), at("n2", 4, 10), 0},
		{"take and commit between reads", at("n1", 3, 10), at("n2", 4, 12), 0},
		{"release", at("n1", 3, 10), at("", 4, 10), 0},
		{"release and take back between reads", at("n1", 3, 10), at("n1", 5, 11), 0},
		{"a commit that bumps the counter", at("n1", 3, 10), at("n1", 4, 11), 1},
		{"an owner change without the counter", at("n1", 3, 10), at("n2", 3, 11), 1},
		{"an epoch that goes back", at("n2", 4, 12), at("n2", 4, 11), 1},
		{"a counter that goes back, epoch too", at("n2", 4, 12), at("n1", 3, 10), 2},
	} {
		if got := leaseStepFaults(c.prev, c.next); len(got) != c.faults {
			t.Errorf("%s: %s -> %s: faults %q, want %d", c.name, obsString(c.prev), obsString(c.next), got, c.faults)
		}
	}

	for _, c := range []struct {
		cp   string
		want []cluster.Run
	}{
		{``, nil},
		{`not json`, nil},
		{`{"base":"b/x","runs":[{"node":"n2","inc":"i1","first":3,"last":9}]}`, []cluster.Run{{Node: "n2", Incarnation: "i1", First: 3, Last: 9}}},
		{`{"positions":{"s0":"1"},"state":{"runs":[{"node":"n1","inc":"a","first":1,"last":1},{"node":"n3","inc":"b","first":2,"last":4}]}}`,
			[]cluster.Run{{Node: "n1", Incarnation: "a", First: 1, Last: 1}, {Node: "n3", Incarnation: "b", First: 2, Last: 4}}},
	} {
		if got := checkpointRuns([]byte(c.cp)); !reflect.DeepEqual(got, c.want) {
			t.Errorf("checkpointRuns(%s) = %+v, want %+v", c.cp, got, c.want)
		}
	}
}
