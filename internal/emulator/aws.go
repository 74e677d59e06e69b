package emulator

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// KindDynalite is dynalite (npm package dynalite): DynamoDB's API, in memory.
const KindDynalite = "dynalite"

// KindS3rver is s3rver (npm package s3rver): S3's API over a directory,
// path-style addressing. Without Options.Dir, Start makes a temporary
// directory and Stop removes it.
const KindS3rver = "s3rver"

// emulatorsScript launches dynalite and s3rver on 127.0.0.1 (their CLIs
// bind every interface), relative to the repo root.
const emulatorsScript = "internal/emulator/emulators.js"

// emulatorsBusyStatus is the script's exit status when the port is taken.
const emulatorsBusyStatus = 3

var (
	dynaliteKind = scriptKind(KindDynalite, "none", func(ctx context.Context, endpoint string) error {
		// Unsigned, so dynalite answers with an auth error: proof enough
		// that its DynamoDB handler runs.
		return answersHTTP(ctx, http.MethodPost, endpoint, map[string]string{
			"X-Amz-Target": "DynamoDB_20120810.ListTables",
			"Content-Type": "application/x-amz-json-1.0",
		})
	}, "ListTables")
	s3rverKind = scriptKind(KindS3rver, "required", func(ctx context.Context, endpoint string) error {
		return answersHTTP(ctx, http.MethodGet, endpoint+"/", nil)
	}, "ListBuckets")
)

func scriptKind(name, dir string, probe func(context.Context, string) error, probeName string) kind {
	prefix := name + " listening on "
	return kind{
		install: func(ctx context.Context, root string) error {
			return ensureNodeModules(ctx, root, name)
		},
		command: func(ctx context.Context, root string, opts Options) *exec.Cmd {
			args := []string{filepath.Join(root, emulatorsScript), name, strconv.Itoa(opts.Port)}
			if opts.Dir != "" {
				args = append(args, opts.Dir)
			}
			return exec.CommandContext(ctx, "node", args...)
		},
		ready: func(line string) (string, bool) {
			addr, ok := strings.CutPrefix(strings.TrimSpace(line), prefix)
			if !ok || !strings.HasPrefix(addr, "127.0.0.1:") {
				return "", false
			}
			return "http://" + addr, true
		},
		busy:      func(exitCode int) bool { return exitCode == emulatorsBusyStatus },
		probe:     probe,
		probeName: probeName,
		dir:       dir,
	}
}

// probeClient never uses a proxy: the emulators are on loopback.
var probeClient = &http.Client{Transport: &http.Transport{Proxy: nil}}

// answersHTTP succeeds when endpoint gives any HTTP response that carries
// the emulator's own answer (a 5xx from something in between would not be
// one: there is nothing in between on loopback, but say so if it happens).
func answersHTTP(ctx context.Context, method, endpoint string, header map[string]string) error {
	req, err := http.NewRequestWithContext(ctx, method, endpoint, strings.NewReader(""))
	if err != nil {
		return err
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := probeClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 500 {
		return fmt.Errorf("%s %s: HTTP %s", method, endpoint, resp.Status)
	}
	return nil
}

// StartDynalite starts dynalite on a free loopback port for a test and
// stops it when the test ends; the test fails, with the emulator's output,
// if it does not answer in time.
func StartDynalite(ctx context.Context, t TB) *Emulator {
	t.Helper()
	return StartForTest(ctx, t, Options{Kind: KindDynalite})
}

// StartS3rver starts s3rver on a free loopback port over a temporary
// directory for a test and stops it (removing the directory) when the test
// ends.
func StartS3rver(ctx context.Context, t TB) *Emulator {
	t.Helper()
	return StartForTest(ctx, t, Options{Kind: KindS3rver})
}
