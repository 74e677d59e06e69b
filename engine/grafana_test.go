package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestGrafanaDashboard: docs/grafana/streamsql.json is a Grafana dashboard
// whose every panel and variable queries the `${datasource}` template
// variable, and every metric its queries name is one the engine's registry
// has (its collectors' descriptors, so a vector with no series yet counts;
// a histogram's _bucket, _sum and _count series count for the histogram).
// The other cases show each check catching what it is there for.
func TestGrafanaDashboard(t *testing.T) {
	ctx := context.Background()
	e, err := Open(ctx, Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	// A statement, so the statement-latency histogram has a series and
	// its type can be gathered.
	if err := e.Exec(ctx, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	reg := registeredMetrics(t, e.Metrics())
	for _, name := range []string{"streamsql_source_records_total", "go_memstats_heap_inuse_bytes", "process_cpu_seconds_total"} {
		if _, ok := reg.names[name]; !ok {
			t.Fatalf("the registry has no %s: registeredMetrics misses metrics", name)
		}
	}
	if reg.types["streamsql_checkpoint_duration_seconds"] != dto.MetricType_HISTOGRAM {
		t.Fatalf("streamsql_checkpoint_duration_seconds gathered as %v, want a histogram", reg.types["streamsql_checkpoint_duration_seconds"])
	}

	real, err := os.ReadFile("../docs/grafana/streamsql.json")
	if err != nil {
		t.Fatal(err)
	}
	// panel wraps a target's expr in a panel with the template's data source.
	panel := func(title, expr string) string {
		return fmt.Sprintf(`{"panels": [{"type": "timeseries", "title": %q, "datasource": {"type": "prometheus", "uid": "${datasource}"},
			"targets": [{"refId": "A", "datasource": {"type": "prometheus", "uid": "${datasource}"}, "expr": %q}]}]}`, title, expr)
	}
	for _, tc := range []struct {
		name string
		json string
		want []string // the problems, in order; none for a good dashboard
	}{
		{name: "docs/grafana/streamsql.json", json: string(real)},
		{name: "a histogram's buckets and count", json: panel("p",
			`histogram_quantile(0.99, sum by (le) (rate(streamsql_checkpoint_duration_seconds_bucket[5m]))) / rate(streamsql_statement_duration_seconds_count[5m])`)},
		{name: "a misspelt metric", json: panel("p", `rate(streamsql_source_record_total{source=~"$source"}[5m])`),
			want: []string{`panel "p": no metric streamsql_source_record_total`}},
		{name: "a misspelt Go runtime metric", json: panel("p", `go_memstats_heap_in_use_bytes`),
			want: []string{`panel "p": no metric go_memstats_heap_in_use_bytes`}},
		{name: "buckets of a counter", json: panel("p", `rate(streamsql_source_records_total_bucket[5m])`),
			want: []string{`panel "p": no metric streamsql_source_records_total_bucket`}},
		{name: "a misspelt metric in a collapsed row", json: `{"panels": [{"type": "row", "title": "r", "panels": [
			{"type": "stat", "title": "inner", "datasource": {"type": "prometheus", "uid": "${datasource}"},
			"targets": [{"refId": "A", "datasource": {"type": "prometheus", "uid": "${datasource}"}, "expr": "streamsql_view_watermark"}]}]}]}`,
			want: []string{`panel "inner": no metric streamsql_view_watermark`}},
		{name: "a misspelt metric in a variable", json: `{"panels": [], "templating": {"list": [
			{"name": "view", "type": "query", "datasource": {"type": "prometheus", "uid": "${datasource}"},
			"definition": "label_values(streamsql_views_state, view)", "query": {"query": "label_values(streamsql_views_state, view)"}}]}}`,
			want: []string{`variable "view": no metric streamsql_views_state`}},
		{name: "a panel with a fixed data source", json: `{"panels": [{"type": "timeseries", "title": "p",
			"datasource": {"type":"prometheus","uid":"P1809F7CD0C75ACF3"},
			"targets": [{"refId": "A", "expr": "streamsql_sessions_open"}]}]}`,
			want: []string{`panel "p": data source {"type":"prometheus","uid":"P1809F7CD0C75ACF3"}, want the ${datasource} variable`,
				`panel "p" target A: data source null, want the ${datasource} variable`}},
		{name: "a panel without queries", json: `{"panels": [{"type": "timeseries", "title": "p",
			"datasource": {"type": "prometheus", "uid": "${datasource}"}, "targets": []}]}`,
			want: []string{`panel "p": no queries`}},
		{name: "not JSON", json: `{"panels": [`,
			want: []string{"not JSON: unexpected end of JSON input"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := dashboardProblems([]byte(tc.json), reg)
			if !slices.Equal(got, tc.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}

	// Once the engine registers operator metrics, a misspelt one is
	// caught like any other.
	withOperators := registered{names: maps.Clone(reg.names), types: reg.types}
	withOperators.names["streamsql_operator_rows_in_total"] = true
	for _, expr := range []string{`rate(streamsql_operator_rows_in_total[1m])`, `rate(streamsql_operator_row_in_total[1m])`} {
		got := dashboardProblems([]byte(panel("p", expr)), withOperators)
		want := []string(nil)
		if strings.Contains(expr, "row_in") {
			want = []string{`panel "p": no metric streamsql_operator_row_in_total`}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s with operator metrics registered: problems %q, want %q", expr, got, want)
		}
	}
}

// registered is what an engine's registry has: the name of every metric
// its collectors describe, and the type of every family it gathers.
type registered struct {
	names map[string]bool
	types map[string]dto.MetricType
}

func registeredMetrics(t *testing.T, reg *prometheus.Registry) registered {
	t.Helper()
	r := registered{names: map[string]bool{}, types: map[string]dto.MetricType{}}
	ch := make(chan *prometheus.Desc)
	go func() {
		reg.Describe(ch)
		close(ch)
	}()
	for d := range ch {
		r.names[descName(d)] = true
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		r.types[mf.GetName()] = mf.GetType()
	}
	return r
}

// dashboardProblems lists what is wrong with a Grafana dashboard's JSON:
// a panel or variable not on the ${datasource} variable, a panel without
// queries, a metric the registry does not have.
func dashboardProblems(data []byte, reg registered) []string {
	type datasourced struct {
		Datasource json.RawMessage `json:"datasource"`
	}
	type target struct {
		datasourced
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	}
	type panel struct {
		datasourced
		Type    string   `json:"type"`
		Title   string   `json:"title"`
		Targets []target `json:"targets"`
		Panels  []panel  `json:"panels"` // a collapsed row's
	}
	var dash struct {
		Panels     []panel `json:"panels"`
		Templating struct {
			List []struct {
				datasourced
				Name       string          `json:"name"`
				Type       string          `json:"type"`
				Definition string          `json:"definition"`
				Query      json.RawMessage `json:"query"` // a string, or {"query": "..."}
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		return []string{"not JSON: " + err.Error()}
	}
	var problems []string
	checkExpr := func(who, expr string) {
		for _, name := range promMetricName.FindAllString(expr, -1) {
			if !reg.has(name) {
				problems = append(problems, fmt.Sprintf("%s: no metric %s", who, name))
			}
		}
	}
	checkDatasource := func(who string, raw json.RawMessage) {
		var ds struct {
			UID string `json:"uid"`
		}
		if json.Unmarshal(raw, &ds) != nil || ds.UID != "${datasource}" {
			if raw == nil {
				raw = json.RawMessage("null")
			}
			problems = append(problems, fmt.Sprintf("%s: data source %s, want the ${datasource} variable", who, raw))
		}
	}
	var walk func([]panel)
	walk = func(panels []panel) {
		for _, p := range panels {
			if p.Type == "row" {
				walk(p.Panels)
				continue
			}
			who := fmt.Sprintf("panel %q", p.Title)
			checkDatasource(who, p.Datasource)
			if len(p.Targets) == 0 {
				problems = append(problems, who+": no queries")
			}
			for _, tg := range p.Targets {
				checkDatasource(fmt.Sprintf("%s target %s", who, tg.RefID), tg.Datasource)
				checkExpr(who, tg.Expr)
			}
		}
	}
	walk(dash.Panels)
	for _, v := range dash.Templating.List {
		if v.Type != "query" {
			continue
		}
		who := fmt.Sprintf("variable %q", v.Name)
		checkDatasource(who, v.Datasource)
		checkExpr(who, v.Definition)
		var query string
		var q struct {
			Query string `json:"query"`
		}
		if json.Unmarshal(v.Query, &query) != nil && json.Unmarshal(v.Query, &q) == nil {
			query = q.Query
		}
		if query != v.Definition { // Grafana writes the query twice
			checkExpr(who, query)
		}
	}
	return problems
}

// promMetricName matches the names of our metrics, the Go runtime's and the
// process's in a PromQL expression; no function, keyword or label of
// PromQL starts so.
var promMetricName = regexp.MustCompile(`\b(?:streamsql|go|process)_[a-zA-Z0-9_]*`)

// has reports whether a series name is one of the registry's: a metric, or
// a histogram's _bucket, _sum or _count (or a summary's _sum or _count).
func (r registered) has(name string) bool {
	if r.names[name] {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, ok := strings.CutSuffix(name, suffix)
		if !ok || !r.names[base] {
			continue
		}
		switch r.types[base] {
		case dto.MetricType_HISTOGRAM:
			return true
		case dto.MetricType_SUMMARY:
			return suffix != "_bucket"
		}
	}
	return false
}
