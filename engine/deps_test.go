package engine

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps engine below the cluster and the API: the cluster
// implements interfaces the engine declares, and the root package and wire
// are built on the engine, so the engine (its tests too) imports none of
// them, nor the DynamoDB or S3 SDKs, which only cluster uses
// (docs/cluster.md, section 10).
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-test", ".").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	const module = "github.com/streamsql/streamsql"
	forbidden := []string{module + "/cluster", module + "/wire", module + "/cmd",
		"github.com/aws/aws-sdk-go-v2/service/dynamodb", "github.com/aws/aws-sdk-go-v2/service/s3",
		"github.com/aws/aws-sdk-go-v2/feature/dynamodb", "github.com/aws/aws-sdk-go-v2/feature/s3"}
	for _, dep := range strings.Fields(string(out)) {
		if dep == module {
			t.Errorf("engine imports the root package %s", dep)
		}
		for _, f := range forbidden {
			if dep == f || strings.HasPrefix(dep, f+"/") {
				t.Errorf("engine imports %s", dep)
			}
		}
	}
}
