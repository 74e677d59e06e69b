package sql

import (
	"reflect"
	"testing"
)

func TestParseCluster(t *testing.T) {
	tests := []struct {
		in   string
		want Statement
		tag  string
	}{
		{"SHOW CLUSTER", &ShowCluster{}, "SHOW"},
		{"show cluster leases;", &ShowCluster{Leases: true}, "SHOW"},
		{"STREAMSQL CLUSTER SCAN PART 'view/it''s' '3/8' TOKEN 'ab'", &ClusterPeer{Op: "scan", Group: "view/it's", Key: "3/8", Token: "ab"}, "SELECT"},
		{"streamsql cluster flush local token ''", &ClusterPeer{Op: "flush"}, "FLUSH"},
	}
	for _, tc := range tests {
		sts, err := Parse(tc.in)
		if err != nil || len(sts) != 1 {
			t.Errorf("Parse(%q): %v, %d statements", tc.in, err, len(sts))
			continue
		}
		got := sts[0]
		if s, ok := got.(interface{ setSpan(Span) }); ok {
			s.setSpan(Span{})
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Parse(%q) = %#v, want %#v", tc.in, got, tc.want)
		}
		if tag := CommandTag(got); tag != tc.tag {
			t.Errorf("CommandTag(%q) = %q, want %q", tc.in, tag, tc.tag)
		}
	}
	for _, bad := range []string{
		"SHOW CLUSTER NODES",
		"STREAMSQL CLUSTER SCAN PART view/v '0/1' TOKEN ''",
		"STREAMSQL CLUSTER SCAN PART 'view/v' '0/1'",
		"STREAMSQL CLUSTER FLUSH TOKEN ''",
		"STREAMSQL CLUSTER DROP EVERYTHING TOKEN ''",
	} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
}
