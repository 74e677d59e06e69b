package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestRun_HelpAndVersion(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		code     int
		contains []string
	}{
		{args: nil, code: 2, contains: []string{"streamsql serve", "streamsql demo", "streamsql version"}},
		{args: []string{"version"}, code: 0, contains: []string{"streamsql "}},
		{args: []string{"serve", "--help"}, code: 0, contains: []string{
			"-listen", "STREAMSQL_LISTEN", "127.0.0.1:4566",
			"-data-dir", "STREAMSQL_DATA_DIR", "./streamsql-data",
			"-log-level", "STREAMSQL_LOG_LEVEL",
			"-password", "STREAMSQL_PASSWORD",
		}},
		{args: []string{"serve", "--help"}, code: 0, contains: []string{"-kinesis-endpoint", "STREAMSQL_KINESIS_ENDPOINT"}},
		{args: []string{"demo", "--help"}, code: 0, contains: []string{"-rate", "STREAMSQL_RATE", "-emulator-port", "4567", "./streamsql-demo"}},
		{args: []string{"demo", "--emulator-port", "70000"}, code: 1, contains: []string{"--emulator-port 70000"}},
		{args: []string{"serve", "--kinesis-endpoint", "127.0.0.1:4567"}, code: 1, contains: []string{"KinesisEndpoint", "not an http"}},
		{args: []string{"nope"}, code: 2, contains: []string{`unknown command "nope"`}},
		{args: []string{"serve", "--log-level", "loud"}, code: 1, contains: []string{"--log-level"}},
		{args: []string{"serve", "extra"}, code: 1, contains: []string{"unexpected arguments: extra"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(tc.args, &out, &errOut)
			if code != tc.code {
				t.Fatalf("exit code %d, want %d; stderr: %s", code, tc.code, errOut.String())
			}
			all := out.String() + errOut.String()
			for _, want := range tc.contains {
				if !strings.Contains(all, want) {
					t.Errorf("output lacks %q:\n%s", want, all)
				}
			}
		})
	}
}

func TestFlagSet_Environment(t *testing.T) {
	t.Setenv("STREAMSQL_LISTEN", "127.0.0.1:9999")
	t.Setenv("STREAMSQL_RATE", "7")
	fs := newFlagSet("x", "", &bytes.Buffer{})
	listen := fs.string("listen", "127.0.0.1:4566", "")
	rate := fs.int("rate", 50, "")
	if err := fs.parse(nil); err != nil {
		t.Fatal(err)
	}
	if *listen != "127.0.0.1:9999" || *rate != 7 {
		t.Fatalf("environment ignored: listen %q rate %d", *listen, *rate)
	}
	// A flag on the command line beats the environment.
	fs = newFlagSet("x", "", &bytes.Buffer{})
	listen = fs.string("listen", "127.0.0.1:4566", "")
	if err := fs.parse([]string{"--listen", "127.0.0.1:1"}); err != nil || *listen != "127.0.0.1:1" {
		t.Fatalf("flag must win: %q %v", *listen, err)
	}

	t.Setenv("STREAMSQL_RATE", "many")
	fs = newFlagSet("x", "", &bytes.Buffer{})
	fs.int("rate", 50, "")
	if err := fs.parse(nil); err == nil || !strings.Contains(err.Error(), "STREAMSQL_RATE") {
		t.Fatalf("a bad environment value must be an error naming the variable: %v", err)
	}
}
