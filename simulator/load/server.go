package load

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// bridge is the mqlive process the load generator started; it is the only
// process the load generator ever signals.
type bridge struct {
	name   string // "mqlive" or "the reference server", in errors
	cmd    *exec.Cmd
	dir    string
	log    *os.File
	done   chan struct{} // closed when the process has exited
	ws     string
	mqtt   string
	secret string
}

// startBridge runs bin --dev on free loopback ports in a fresh directory
// (dev mode keeps its state and the embedded broker's store under
// .mqlive/ there) with a generated secret, and waits until /readyz says
// 200. maxConns raises http.max_connections (default 10,000) through a
// config file, so W3's 19,500 sockets fit. MQLIVE_* variables of the
// caller's environment are not passed on: they would change what is
// measured. pprofAddr, when set, turns on the bridge's profiler there.
func startBridge(ctx context.Context, bin, pprofAddr string, maxConns int) (*bridge, error) {
	return startServer(ctx, "mqlive", bin, pprofAddr, func(dir, httpAddr, mqttAddr string) ([]string, error) {
		cfgPath := filepath.Join(dir, "mqlive.yaml")
		if err := os.WriteFile(cfgPath, fmt.Appendf(nil, "http:\n  max_connections: %d\n", maxConns), 0o600); err != nil {
			return nil, err
		}
		return []string{"--dev", "--config", cfgPath, "--http-addr", httpAddr, "--mqtt-listen", mqttAddr}, nil
	})
}

// startReference runs `bin reference` (mqlive-sim's reference server, see
// ServeReference) the way startBridge runs mqlive, so that both are
// measured alike.
func startReference(ctx context.Context, bin, pprofAddr, base string) (*bridge, error) {
	return startServer(ctx, "the reference server", bin, pprofAddr, func(_, httpAddr, mqttAddr string) ([]string, error) {
		return []string{ReferenceCommand, "--http-addr", httpAddr, "--mqtt-listen", mqttAddr, "--base", base}, nil
	})
}

// startServer starts bin (name, in errors) with the arguments args returns for a fresh
// directory and two free loopback ports, and waits until it is ready.
func startServer(ctx context.Context, name, bin, pprofAddr string, args func(dir, httpAddr, mqttAddr string) ([]string, error)) (_ *bridge, err error) {
	abs, err := filepath.Abs(bin)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "mqlive-load-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(dir)
		}
	}()
	httpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	mqttPort, err := freePort()
	if err != nil {
		return nil, err
	}
	httpAddr, mqttAddr := fmt.Sprintf("127.0.0.1:%d", httpPort), fmt.Sprintf("127.0.0.1:%d", mqttPort)
	argv, err := args(dir, httpAddr, mqttAddr)
	if err != nil {
		return nil, err
	}
	if pprofAddr != "" {
		argv = append(argv, "--pprof-addr", pprofAddr)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	b := &bridge{
		name:   name,
		dir:    dir,
		done:   make(chan struct{}),
		ws:     "ws://" + httpAddr + "/ws",
		mqtt:   "tcp://" + mqttAddr,
		secret: hex.EncodeToString(key),
	}
	if b.log, err = os.Create(filepath.Join(dir, "server.log")); err != nil {
		return nil, err
	}
	b.cmd = exec.Command(abs, argv...)
	b.cmd.Dir = dir
	b.cmd.Stdout, b.cmd.Stderr = b.log, b.log
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MQLIVE_") {
			b.cmd.Env = append(b.cmd.Env, kv)
		}
	}
	// The secret goes through the environment, not argv (visible in ps).
	b.cmd.Env = append(b.cmd.Env, "MQLIVE_JWT_SECRET="+b.secret, "MQLIVE_LOG_LEVEL=warn")
	// The server dies with the load generator even if it is killed;
	// Pdeathsig fires when the starting thread exits, so it stays locked.
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	runtime.LockOSThread()
	err = b.cmd.Start()
	runtime.UnlockOSThread()
	if err != nil {
		b.log.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() { _ = b.cmd.Wait(); close(b.done) }()
	if err := b.waitReady(ctx, httpPort); err != nil {
		b.stop()
		return nil, err
	}
	return b, nil
}

func (b *bridge) pid() int { return b.cmd.Process.Pid }

// waitReady polls /readyz until 200, the process exits, or 30 s pass.
func (b *bridge) waitReady(ctx context.Context, port int) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	url := fmt.Sprintf("http://127.0.0.1:%d/readyz", port)
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := readyClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-b.done:
			return fmt.Errorf("%s exited before it was ready: %s\n%s", b.name, b.cmd.ProcessState, b.logTail())
		case <-ctx.Done():
			return fmt.Errorf("%s not ready at %s: %w\n%s", b.name, url, ctx.Err(), b.logTail())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// readyClient keeps no idle connection (and so no goroutine) behind.
var readyClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 2 * time.Second}

// stop sends SIGTERM (a graceful drain), SIGKILL after 15 s, and removes
// the directory. It returns the log tail when the process failed.
func (b *bridge) stop() error {
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.done:
	case <-time.After(15 * time.Second):
		_ = b.cmd.Process.Kill()
		<-b.done
	}
	var err error
	if st := b.cmd.ProcessState; st != nil && !st.Success() && st.ExitCode() != -1 {
		err = fmt.Errorf("%s exited with %s\n%s", b.name, st, b.logTail())
	}
	b.log.Close()
	_ = os.RemoveAll(b.dir)
	return err
}

// exited reports whether the process has ended (a crash under load).
func (b *bridge) exited() error {
	select {
	case <-b.done:
		return fmt.Errorf("%s exited during the run: %s\n%s", b.name, b.cmd.ProcessState, b.logTail())
	default:
		return nil
	}
}

// logTail is the end of the bridge's log, for error messages.
func (b *bridge) logTail() string {
	out, err := os.ReadFile(b.log.Name())
	if err != nil {
		return ""
	}
	const max = 4 << 10
	if len(out) > max {
		out = out[len(out)-max:]
		if i := bytes.IndexByte(out, '\n'); i >= 0 {
			out = out[i+1:]
		}
	}
	return b.name + " log (end):\n" + string(out)
}

// freePort asks the kernel for a free loopback port. Another process may
// take it before the bridge binds it; the bridge then fails to start with
// a clear error rather than measuring the wrong server.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
