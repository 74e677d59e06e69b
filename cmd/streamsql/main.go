// Command streamsql is the streamsql binary: `serve` runs the engine behind
// a Postgres wire protocol listener, `demo` runs it beside a local Kinesis
// emulator with a producer of synthetic clicks, `version` prints the build.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `streamsql runs continuous SQL over Amazon Kinesis Data Streams and serves
the results over the Postgres wire protocol.

Usage:
  streamsql serve [flags]    run the server (see 'streamsql serve --help')
  streamsql demo [flags]     run a local Kinesis emulator, the server and a
                             producer of synthetic click events
  streamsql bench [flags]    run the benchmark scenarios with the ceiling and a peer
  streamsql version          print the version

Every flag can also be set with an environment variable, named in its help.
`

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch args[0] {
	case "serve":
		err = serveCmd(ctx, args[1:], stdout, stderr)
	case "demo":
		err = demoCmd(ctx, args[1:], stdout, stderr)
	case "bench":
		err = benchCmd(ctx, args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "streamsql", version())
		return 0
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "streamsql: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "streamsql:", err)
		return 1
	}
	return 0
}

// version is the module version the binary was built from, or "devel".
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok || info.Main.Version == "" || info.Main.Version == "(devel)" {
		return "devel"
	}
	return info.Main.Version
}

// flagSet is a FlagSet whose flags default to environment variables, so a
// container or a unit file can configure the binary without arguments.
type flagSet struct {
	*flag.FlagSet
	envErrs []error
}

func newFlagSet(name, summary string, out io.Writer) *flagSet {
	fs := &flagSet{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError)}
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: streamsql %s [flags]\n\n%s\n\nFlags:\n", name, summary)
		fs.PrintDefaults()
	}
	return fs
}

// envName is the environment variable that sets a flag: --data-dir is
// STREAMSQL_DATA_DIR.
func envName(flagName string) string {
	return "STREAMSQL_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func (fs *flagSet) string(name, def, help string) *string {
	env := envName(name)
	if v, ok := os.LookupEnv(env); ok {
		def = v
	}
	return fs.String(name, def, help+" (env "+env+")")
}

func (fs *flagSet) int(name string, def int, help string) *int {
	env := envName(name)
	if v, ok := os.LookupEnv(env); ok {
		var n int
		if _, err := fmt.Sscan(v, &n); err != nil {
			fs.envErrs = append(fs.envErrs, fmt.Errorf("%s=%q: not an integer", env, v))
		} else {
			def = n
		}
	}
	return fs.Int(name, def, help+" (env "+env+")")
}

func (fs *flagSet) duration(name string, def time.Duration, help string) *time.Duration {
	env := envName(name)
	if v, ok := os.LookupEnv(env); ok {
		if d, err := time.ParseDuration(v); err != nil {
			fs.envErrs = append(fs.envErrs, fmt.Errorf("%s=%q: not a duration (e.g. 500ms, 2s)", env, v))
		} else {
			def = d
		}
	}
	return fs.Duration(name, def, help+" (env "+env+")")
}

func (fs *flagSet) parse(args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	return errors.Join(fs.envErrs...)
}

// newLogger returns a logger to stderr at the named level, in the named
// format: text (key=value) or json.
func newLogger(level, format string, stderr io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}
