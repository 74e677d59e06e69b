package emulator

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// kinesaliteScript is the committed launcher, relative to the repo root. It
// binds 127.0.0.1 only; kinesalite's own CLI would bind every interface.
const kinesaliteScript = "internal/emulator/kinesalite.js"

const (
	kinesaliteReadyPrefix = "kinesalite listening on "
	// The script prints this before the ready line when it was given a
	// directory but serves from memory.
	kinesaliteInMemoryPrefix = "kinesalite.js: in memory: "
	// The script's exit status when the port or the directory stays taken.
	kinesaliteBusyStatus = 3
)

var kinesaliteKind = kind{
	install: func(ctx context.Context, root string) error {
		return ensureNodeModules(ctx, root, "kinesalite")
	},
	command: func(ctx context.Context, root string, opts Options) *exec.Cmd {
		// Port 0: the OS picks a free loopback port and the script prints it.
		// Picking a port here and passing it would leave a window in which
		// another test could take it.
		args := []string{filepath.Join(root, kinesaliteScript), strconv.Itoa(opts.Port)}
		if opts.Dir != "" {
			args = append(args, opts.Dir)
		}
		return exec.CommandContext(ctx, "node", args...)
	},
	inMemory: func(line string) bool { return strings.HasPrefix(line, kinesaliteInMemoryPrefix) },
	busy:     func(exitCode int) bool { return exitCode == kinesaliteBusyStatus },
	ready: func(line string) (string, bool) {
		addr, ok := strings.CutPrefix(strings.TrimSpace(line), kinesaliteReadyPrefix)
		if !ok || !strings.HasPrefix(addr, "127.0.0.1:") {
			return "", false
		}
		return "http://" + addr, true
	},
}

// ensureNodeModules runs `npm ci` in root unless node_modules already holds
// pkg at the version package-lock.json pins. Test binaries of several
// packages run in parallel, so the check and the install happen under an
// exclusive file lock: the first installs, the others then find it done.
func ensureNodeModules(ctx context.Context, root, pkg string) error {
	if ok, err := nodeModuleCurrent(root, pkg); err != nil || ok {
		return err
	}
	if _, err := exec.LookPath("node"); err != nil {
		return fmt.Errorf("node is not on PATH (Node.js is needed for the Kinesis emulator): %w", err)
	}
	if _, err := exec.LookPath("npm"); err != nil {
		return fmt.Errorf("npm is not on PATH (needed to install the Kinesis emulator): %w", err)
	}
	unlock, err := lockFile(ctx, lockPath(root))
	if err != nil {
		return err
	}
	defer unlock()
	if ok, err := nodeModuleCurrent(root, pkg); err != nil || ok {
		return err
	}
	// --ignore-scripts: nothing needs building. kinesalite keeps its streams
	// in memory, or (Options.Dir) in leveldown, whose package ships prebuilt
	// binaries for the usual platforms and loads them at require time.
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("npm ci in %s: %w\n%s", root, err, out)
	}
	if ok, err := nodeModuleCurrent(root, pkg); err != nil || !ok {
		return errors.Join(fmt.Errorf("npm ci in %s did not install %s", root, pkg), err)
	}
	return nil
}

// nodeModuleCurrent reports whether root/node_modules/pkg exists at the
// version that root/package-lock.json pins.
func nodeModuleCurrent(root, pkg string) (bool, error) {
	lockRaw, err := os.ReadFile(filepath.Join(root, "package-lock.json"))
	if err != nil {
		return false, fmt.Errorf("read package-lock.json: %w", err)
	}
	var lock struct {
		Packages map[string]struct {
			Version string `json:"version"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(lockRaw, &lock); err != nil {
		return false, fmt.Errorf("parse package-lock.json: %w", err)
	}
	want, ok := lock.Packages["node_modules/"+pkg]
	if !ok || want.Version == "" {
		return false, fmt.Errorf("package-lock.json in %s does not pin %s", root, pkg)
	}
	raw, err := os.ReadFile(filepath.Join(root, "node_modules", pkg, "package.json"))
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read installed %s: %w", pkg, err)
	}
	var have struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(raw, &have); err != nil {
		// A half-written install: npm ci replaces it.
		return false, nil
	}
	return have.Version == want.Version, nil
}

// lockPath is a lock file outside the work tree, one per repo root, so two
// clones do not serialise on each other and the tree stays clean.
func lockPath(root string) string {
	sum := sha256.Sum256([]byte(root))
	return filepath.Join(os.TempDir(), "streamsql-npm-"+hex.EncodeToString(sum[:8])+".lock")
}

// lockFile takes an exclusive flock on path, polling so that ctx can end
// the wait. The lock goes with the process, so a crashed holder never
// leaves it stuck.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() {
				_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
				_ = f.Close()
			}, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			_ = f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		t := time.NewTimer(100 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			_ = f.Close()
			return nil, fmt.Errorf("waiting for lock %s: %w", path, ctx.Err())
		case <-t.C:
		}
	}
}

// findUp returns the first directory from dir upwards that holds name.
func findUp(dir, name string) (string, error) {
	start := dir
	for {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("emulator: no %s in %s or any parent", name, start)
		}
		dir = parent
	}
}
