package sql

import (
	"os"
	"strings"
	"testing"
)

// TestConnectors_Documented keeps docs/sql.md in step with the spec table:
// every option of every connector appears there, in backquotes.
func TestConnectors_Documented(t *testing.T) {
	doc, err := os.ReadFile("../docs/sql.md")
	if err != nil {
		t.Skipf("docs: %v", err)
	}
	for _, c := range Connectors {
		if !strings.Contains(string(doc), "### "+c.Name+" "+c.Role.String()) {
			t.Errorf("docs/sql.md has no section %q", "### "+c.Name+" "+c.Role.String())
		}
		for _, o := range c.Options {
			if !strings.Contains(string(doc), "`"+o.Key+"`") {
				t.Errorf("docs/sql.md does not mention %s %s option %q", c.Name, c.Role, o.Key)
			}
			if o.Default != "" && !strings.Contains(string(doc), "`"+o.Default+"`") {
				t.Errorf("docs/sql.md does not mention the default %q of %q", o.Default, o.Key)
			}
		}
	}
	for _, o := range subscribeOptions {
		if !strings.Contains(string(doc), "`"+o.Key+"`") {
			t.Errorf("docs/sql.md does not mention SUBSCRIBE option %q", o.Key)
		}
	}
}

func TestLookupConnector(t *testing.T) {
	if _, ok := LookupConnector(RoleSource, "kinesis"); !ok {
		t.Error("kinesis source missing")
	}
	if _, ok := LookupConnector(RoleSink, "kinesis"); !ok {
		t.Error("kinesis sink missing")
	}
	if _, ok := LookupConnector(RoleSink, "nexmark"); ok {
		t.Error("unexpected nexmark sink")
	}
}
