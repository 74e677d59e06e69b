package engine

import (
	"reflect"
	"testing"

	"github.com/streamsql/streamsql/dashboard"
)

func TestExplainGraph(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  []dashboard.Edge
	}{
		{"empty", nil, nil},
		{"chain", []string{"Materialize", "  Aggregate", "    Source s"}, []dashboard.Edge{{From: 1, To: 0}, {From: 2, To: 1}}},
		{"join of two sources", []string{"Materialize", "  Join", "    Source a", "    Source b"},
			[]dashboard.Edge{{From: 1, To: 0}, {From: 2, To: 1}, {From: 3, To: 1}}},
		{"back up a level", []string{"M", "  U", "    P", "      Source a", "    Source b"},
			[]dashboard.Edge{{From: 1, To: 0}, {From: 2, To: 1}, {From: 3, To: 2}, {From: 4, To: 1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := explainGraph(tc.lines)
			if len(g.Nodes) != len(tc.lines) {
				t.Fatalf("%d nodes, want %d", len(g.Nodes), len(tc.lines))
			}
			for i, n := range g.Nodes {
				if n.ID != i || n.Label == "" || n.Label[0] == ' ' {
					t.Errorf("node %d = %+v, want id %d and its line unindented", i, n, i)
				}
			}
			if !reflect.DeepEqual(g.Edges, tc.want) {
				t.Errorf("edges = %v, want %v", g.Edges, tc.want)
			}
		})
	}
}
