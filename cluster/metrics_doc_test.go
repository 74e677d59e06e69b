package cluster

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestMetrics_Documented: docs/observability.md lists every metric of a
// member (streamsql_cluster_*), and no other of that prefix.
func TestMetrics_Documented(t *testing.T) {
	doc, err := os.ReadFile("../docs/observability.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `(streamsql_cluster_[a-z0-9_]+)`").FindAllStringSubmatch(string(doc), -1) {
		documented[m[1]] = true
	}
	rec := &descRecorder{names: map[string]bool{}}
	m := &Member{metrics: newMemberMetrics()}
	if err := m.Register(rec); err != nil {
		t.Fatal(err)
	}
	defined := rec.names
	for name := range defined {
		if !strings.HasPrefix(name, "streamsql_cluster_") {
			t.Errorf("member metric %s is not named streamsql_cluster_*", name)
		}
		if !documented[name] {
			t.Errorf("%s is not in docs/observability.md", name)
		}
	}
	for name := range documented {
		if !defined[name] {
			t.Errorf("docs/observability.md lists %s, which does not exist", name)
		}
	}
}

// descRecorder is a Registerer that records the names of what Register
// is given.
type descRecorder struct{ names map[string]bool }

func (r *descRecorder) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc)
	go func() {
		c.Describe(ch)
		close(ch)
	}()
	for d := range ch {
		// Desc has no accessor for its name; its String form holds it.
		if m := regexp.MustCompile(`fqName: "([a-z0-9_]+)"`).FindStringSubmatch(d.String()); m != nil {
			r.names[m[1]] = true
		}
	}
	return nil
}

func (r *descRecorder) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		_ = r.Register(c)
	}
}

func (r *descRecorder) Unregister(prometheus.Collector) bool { return false }
