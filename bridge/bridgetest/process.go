package bridgetest

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Process is a server process a test started (redis-server, mosquitto,
// nginx, a bridge binary). It is stopped by the test's cleanup; Kill and
// Start let a test simulate a crash and a restart on the same port.
type Process struct {
	Name string
	Path string
	Args []string
	// Addr is the loopback address the process listens on.
	Addr string
	// Env is added to the test's own environment; later entries win.
	Env []string

	mu   sync.Mutex
	cmd  *exec.Cmd
	exit chan struct{}
	out  syncBuffer
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("bridgetest: free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// NeedBinary skips the test when path is missing, saying how to install it.
// Under CI=true (set by .ci/run) a missing binary fails the test instead:
// CI installs every package, so a skip there would hide a test that never ran.
func NeedBinary(t testing.TB, path, pkg string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		Missing(t, "%s not found; install it (apt-get install -y %s) to run this test", path, pkg)
	}
}

// Missing skips the test with the message, or fails it under CI=true.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true: "+format, args...)
	}
	t.Skipf(format, args...)
}

// StartProcess starts a process, waits until Addr accepts connections and
// stops it (SIGTERM, then SIGKILL) when the test ends.
func StartProcess(t testing.TB, p *Process) *Process {
	t.Helper()
	p.Start(t)
	t.Cleanup(p.Stop)
	return p
}

// Start (re)starts the process and waits for its port.
func (p *Process) Start(t testing.TB) {
	t.Helper()
	if err := p.start(); err != nil {
		t.Fatal(err)
	}
}

// errPortTaken: the process could not bind its port, which another process
// took between FreePort and the bind.
var errPortTaken = errors.New("port taken")

// start starts the process and waits until Addr accepts connections.
func (p *Process) start() error {
	p.mu.Lock()
	cmd := exec.Command(p.Path, p.Args...)
	cmd.Stdout, cmd.Stderr = &p.out, &p.out
	if len(p.Env) > 0 {
		cmd.Env = append(os.Environ(), p.Env...)
	}
	// Its own process group, so a Ctrl-C of the test run does not reach it
	// before the cleanup does.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		p.mu.Unlock()
		return fmt.Errorf("bridgetest: start %s: %v", p.Name, err)
	}
	exit := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exit) }()
	p.cmd, p.exit = cmd, exit
	p.mu.Unlock()
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", p.Addr, time.Second)
		if err == nil {
			_ = c.Close()
			return nil
		}
		select {
		case <-exit:
			p.mu.Lock()
			p.cmd = nil
			p.mu.Unlock()
			out := p.out.String()
			if strings.Contains(out, "Address already in use") {
				return fmt.Errorf("bridgetest: %s exited at start: %w:\n%s", p.Name, errPortTaken, out)
			}
			return fmt.Errorf("bridgetest: %s exited at start:\n%s", p.Name, out)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bridgetest: %s did not listen on %s within 15s:\n%s", p.Name, p.Addr, p.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startOnFreePort starts the process newProcess describes for a free
// loopback port, and stops it when the test ends. A port is only free
// until someone takes it: when another process (a parallel test package)
// binds it first, it starts again on a new port, up to three times.
func startOnFreePort(t testing.TB, newProcess func(port int) *Process) *Process {
	t.Helper()
	for attempt := 1; ; attempt++ {
		p := newProcess(FreePort(t))
		err := p.start()
		if err == nil {
			t.Cleanup(p.Stop)
			return p
		}
		if !errors.Is(err, errPortTaken) || attempt == 3 {
			t.Fatal(err)
		}
		t.Logf("bridgetest: %s: port %s was taken, starting again on another", p.Name, p.Addr)
	}
}

// PID is the running process's id, or 0.
func (p *Process) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Output is what the process printed so far.
func (p *Process) Output() string { return p.out.String() }

// Kill ends the process with SIGKILL, as a crash would, and waits for it.
func (p *Process) Kill() { p.signal(syscall.SIGKILL, 0) }

// Stop ends the process with SIGTERM, then SIGKILL after 10 s. It is
// idempotent.
func (p *Process) Stop() { p.signal(syscall.SIGTERM, 10*time.Second) }

func (p *Process) signal(sig syscall.Signal, grace time.Duration) {
	p.mu.Lock()
	cmd, exit := p.cmd, p.exit
	p.cmd = nil
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	if grace > 0 {
		select {
		case <-exit:
			return
		case <-time.After(grace):
			_ = cmd.Process.Kill()
		}
	}
	<-exit
}

// RedisPath is Debian's Redis 7 server, wire-compatible with Valkey.
const RedisPath = "/usr/bin/redis-server"

// StartRedis starts a standalone redis-server on a free loopback port, with
// no persistence, and returns it; Addr is host:port.
func StartRedis(t testing.TB) *Process {
	t.Helper()
	NeedBinary(t, RedisPath, "redis-server")
	dir := t.TempDir()
	return startOnFreePort(t, func(port int) *Process {
		return &Process{Name: "redis-server", Path: RedisPath, Addr: fmt.Sprintf("127.0.0.1:%d", port),
			Args: []string{"--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
				"--dir", dir, "--protected-mode", "no"}}
	})
}

// StartRedisCluster starts n redis-server masters in cluster mode on free
// loopback ports, joins them with redis-cli --cluster create and waits
// until the cluster is ok. It returns the nodes.
func StartRedisCluster(t testing.TB, n int) []*Process {
	t.Helper()
	NeedBinary(t, RedisPath, "redis-server")
	var nodes []*Process
	var addrs []string
	for i := 0; i < n; i++ {
		dir := t.TempDir()
		p := startOnFreePort(t, func(port int) *Process {
			return &Process{Name: fmt.Sprintf("redis-cluster-%d", i), Path: RedisPath, Addr: fmt.Sprintf("127.0.0.1:%d", port),
				Args: []string{"--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
					"--dir", dir, "--protected-mode", "no", "--cluster-enabled", "yes",
					"--cluster-config-file", dir + "/nodes.conf", "--cluster-node-timeout", "2000"}}
		})
		nodes = append(nodes, p)
		addrs = append(addrs, p.Addr)
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		t.Fatalf("bridgetest: redis-cli --cluster create: %v\n%s", err, out)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok := true
		for _, a := range addrs {
			host, port, _ := net.SplitHostPort(a)
			out, err := exec.Command("redis-cli", "-h", host, "-p", port, "cluster", "info").Output()
			if err != nil || !bytes.Contains(out, []byte("cluster_state:ok")) {
				ok = false
				break
			}
		}
		if ok {
			return nodes
		}
		if time.Now().After(deadline) {
			t.Fatalf("bridgetest: redis cluster %v not ok within 20s", addrs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
