package bridge_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge"
	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/devices"
)

// BenchmarkDelivery measures end-to-end delivery over real sockets: N
// dashboard clients subscribed to devices, one publication per iteration
// injected through the ingest pipeline (decode, merge, append, fan-out),
// every client reading continuously. It reports deliveries/s and the
// p50/p99 latency from handing the MQTT message to the pipeline to a
// client having read it. window=1 publishes the next message only when
// every client has the previous one (latency of one fan-out, unloaded);
// window=64 keeps 64 in flight (saturation; well under the default queue
// of 256, so nothing is dropped and latency includes queueing).
func BenchmarkDelivery(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run("clients="+strconv.Itoa(n), func(b *testing.B) {
			raiseFileLimit(b, 2*n+256)
			br := bridgetest.Start(b)
			clients := dialMany(b, br.WSURL, br.Token(b, "bench", bridge.DefaultTenant), n, true)
			var next uint64 // offset of the next publication on devices
			for _, c := range clients {
				next = max(next, c.subscribedAt+1)
			}
			for _, window := range []int{1, 64} {
				b.Run("window="+strconv.Itoa(window), func(b *testing.B) {
					runDelivery(b, br, clients, &next, window)
				})
			}
		})
	}
}

func runDelivery(b *testing.B, br *bridgetest.Bridge, clients []*benchClient, next *uint64, window int) {
	runPaced(b, br, clients, next, window, 0)
}

// runPaced is runDelivery that also waits gap between two publications,
// so that a rate below saturation (W1's 1 msg/s) can be measured: its
// sockets' writers may end between two bursts and start again.
func runPaced(b *testing.B, br *bridgetest.Bridge, clients []*benchClient, next *uint64, window int, gap time.Duration) {
	sent := make([]atomic.Int64, b.N)
	// got counts, per publication, the clients that read it; the one
	// that completes a count signals progress, so waiting costs nothing
	// per client (a scan of 5,000 clients at every read did).
	got := &delivered{count: make([]atomic.Int32, b.N), clients: int32(len(clients)), progress: make(chan struct{}, 1)}
	base := *next
	for _, c := range clients {
		c.lat = c.lat[:0]
		c.base.Store(base)
		c.sent.Store(&sent)
		c.got.Store(got)
	}
	// Every payload is unique across runs: in a cluster's lock ingest mode
	// an identical message within the lock window is the same message.
	payloads := make([][]byte, b.N)
	for i := range payloads {
		payloads[i] = []byte(`{"temperature":` + strconv.Itoa(i%400) + `.5,"humidity":48.2,"battery":97,"linkquality":120,"voltage":` +
			strconv.FormatUint(payloadSeq.Add(1), 10) + `}`)
	}
	waitFor := func(offset uint64, timeout time.Duration) {
		deadline := time.After(timeout)
		for got.count[offset-base].Load() < got.clients {
			select {
			case <-got.progress:
			case <-deadline:
				b.Fatalf("clients stuck at offset %d, want %d", minLast(clients), offset)
			}
		}
	}
	b.ResetTimer()
	cpu0 := processCPU(b)
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if i >= window {
			waitFor(base+uint64(i-window), 30*time.Second)
		}
		if gap > 0 && i > 0 {
			time.Sleep(gap)
		}
		now := time.Now()
		sent[i].Store(now.UnixNano())
		bridge.IngestMessage(br.Bridge, devices.Message{
			Topic: "zigbee2mqtt/bench-" + strconv.Itoa(i%10), Payload: payloads[i], ReceivedAt: now,
		})
	}
	waitFor(base+uint64(b.N)-1, 30*time.Second)
	elapsed := time.Since(start)
	cpu := processCPU(b) - cpu0
	b.StopTimer()
	*next = base + uint64(b.N)

	var lat []time.Duration
	for _, c := range clients {
		lat = append(lat, c.lat...)
	}
	require.Len(b, lat, b.N*len(clients), "every client got every publication exactly once")
	slices.Sort(lat)
	deliveries := float64(len(lat))
	b.ReportMetric(deliveries/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds())/1000, "p99-ms")
	// CPU is the whole process's, the clients' reading included: compare
	// it between runs of the same benchmark, on a machine this busy it
	// says more than the rate does.
	b.ReportMetric(cpu.Seconds()/elapsed.Seconds(), "cores")
	b.ReportMetric(float64(cpu.Microseconds())/deliveries, "cpu-µs/delivery")
}

// processCPU is the user and system CPU time this process has used.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	require.NoError(tb, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// delivered counts the readers of each publication of a run.
type delivered struct {
	count    []atomic.Int32 // by offset-base
	clients  int32
	progress chan struct{} // signalled when a count reaches clients
}

// payloadSeq numbers benchmark payloads.
var payloadSeq atomic.Uint64

func minLast(clients []*benchClient) uint64 {
	m := ^uint64(0)
	for _, c := range clients {
		m = min(m, c.last.Load())
	}
	return m
}

// benchClient is a lean protocol client: after connect and subscribe its
// reader goroutine only extracts the offset of each message and records
// its latency, so the process spends its time in the bridge.
type benchClient struct {
	conn         *websocket.Conn
	subscribedAt uint64

	base atomic.Uint64                  // offset of sent[0]
	sent atomic.Pointer[[]atomic.Int64] // send times (UnixNano) by offset-base
	got  atomic.Pointer[delivered]      // counts the message read
	last atomic.Uint64                  // newest offset read
	lat  []time.Duration                // owned by the reader; read after got counts it
	done chan struct{}
}

// dialMany connects n clients subscribed to devices, eight at a time.
// With read set each gets a reader goroutine; otherwise they stay idle.
func dialMany(tb testing.TB, url, token string, n int, read bool) []*benchClient {
	tb.Helper()
	clients := make([]*benchClient, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range clients {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := dialBench(url, token)
			if err != nil {
				errs <- err
				return
			}
			clients[i] = c
		}()
	}
	wg.Wait()
	close(errs)
	tb.Cleanup(func() {
		for _, c := range clients {
			if c != nil {
				_ = c.conn.Close()
				<-c.done
			}
		}
	})
	for err := range errs {
		tb.Fatal(err)
	}
	for _, c := range clients {
		if read {
			go c.read()
		} else {
			close(c.done)
		}
	}
	return clients
}

func dialBench(url, token string) (*benchClient, error) {
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, Subprotocols: []string{wire.Subprotocol}}
	conn, _, err := d.Dial(url, nil)
	if err != nil {
		return nil, fmt.Errorf("dial: %w", err)
	}
	c := &benchClient{conn: conn, done: make(chan struct{})}
	call := func(id int, method string, params any, result any) error {
		req, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
		if err := conn.WriteMessage(websocket.TextMessage, req); err != nil {
			return err
		}
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		defer conn.SetReadDeadline(time.Time{})
		for {
			_, data, err := conn.ReadMessage()
			if err != nil {
				return fmt.Errorf("%s: %w", method, err)
			}
			var resp struct {
				ID     json.RawMessage `json:"id"`
				Result json.RawMessage `json:"result"`
				Error  *wire.Error     `json:"error"`
			}
			if err := json.Unmarshal(data, &resp); err != nil || string(resp.ID) != strconv.Itoa(id) {
				continue // a notification
			}
			if resp.Error != nil {
				return fmt.Errorf("%s: %w", method, resp.Error)
			}
			return json.Unmarshal(resp.Result, result)
		}
	}
	var cres wire.ConnectResult
	var sres wire.SubscribeResult
	if err := call(1, wire.MethodConnect, wire.ConnectParams{Token: token, Client: "bench"}, &cres); err != nil {
		_ = conn.Close()
		return nil, err
	}
	if err := call(2, wire.MethodSubscribe, wire.SubscribeParams{Channel: "devices"}, &sres); err != nil {
		_ = conn.Close()
		return nil, err
	}
	c.subscribedAt = sres.Offset
	c.last.Store(sres.Offset)
	return c, nil
}

var offsetKey = []byte(`"offset":`)

func (c *benchClient) read() {
	defer close(c.done)
	for {
		_, data, err := c.conn.ReadMessage()
		if err != nil {
			return
		}
		now := time.Now().UnixNano()
		i := bytes.Index(data, offsetKey)
		if i < 0 || !bytes.Contains(data[:i], []byte(`"method":"message"`)) {
			continue
		}
		var off uint64
		for _, ch := range data[i+len(offsetKey):] {
			if ch < '0' || ch > '9' {
				break
			}
			off = off*10 + uint64(ch-'0')
		}
		c.last.Store(off)
		if sent := c.sent.Load(); sent != nil {
			if k := off - c.base.Load(); off >= c.base.Load() && k < uint64(len(*sent)) {
				c.lat = append(c.lat, time.Duration(now-(*sent)[k].Load()))
				if got := c.got.Load(); got.count[k].Add(1) == got.clients {
					select {
					case got.progress <- struct{}{}:
					default:
					}
				}
			}
		}
	}
}

// BenchmarkIdleConnectionMemory measures the bridge's heap per idle
// dashboard connection: 1,000 clients connected and subscribed to devices,
// doing nothing. The clients run in a child process (this test binary,
// see TestBenchClientProcess) so that only the server's memory is counted.
func BenchmarkIdleConnectionMemory(b *testing.B) {
	const n = 1000
	raiseFileLimit(b, n+256)
	br := bridgetest.Start(b)
	token := br.Token(b, "bench", bridge.DefaultTenant)
	for b.Loop() {
		before := heapAfterGC()
		connectTime, cpu, release := holdIdleClients(b, br, token, n)
		after := idleAfterGC(b, before, n)
		b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/n, "bytes/conn")
		b.ReportMetric(float64(int64(after.StackInuse)-int64(before.StackInuse))/n, "stack-bytes/conn")
		b.ReportMetric(float64(after.goroutines-before.goroutines)/n, "goroutines/conn")
		b.ReportMetric(n/connectTime.Seconds(), "connects/s")
		// CPU per connect survives a shared machine better than the rate.
		b.ReportMetric(float64(cpu.Microseconds())/n, "server-cpu-µs/connect")
		release()
	}
}

// holdIdleClients connects n clients subscribed to devices that then do
// nothing, in a child process (this test binary, see
// TestBenchClientProcess) so that only the server's memory is in this
// one. It returns once the bridge counts them all, with the time that took
// from telling the child to dial (its process start and runtime init are
// not the bridge's connect rate) and the CPU this process (the bridge)
// used meanwhile; release disconnects them and waits until the bridge has
// none left.
func holdIdleClients(tb testing.TB, br *bridgetest.Bridge, token string, n int) (connectTime, cpu time.Duration, release func()) {
	tb.Helper()
	conns := bridge.MetricsOf(br.Bridge).Connections.WithLabelValues(bridge.DefaultTenant)
	waitConns := func(want int) {
		bridgetest.Eventually(tb, 60*time.Second, func() error {
			if got := testutil.ToFloat64(conns); got != float64(want) {
				return fmt.Errorf("%v sessions, want %d", got, want)
			}
			return nil
		})
	}
	child := exec.Command(os.Args[0], "-test.run=^TestBenchClientProcess$", "-test.count=1")
	child.Env = append(os.Environ(), "MQLIVE_BENCH_CLIENTS="+br.WSURL+" "+token+" "+strconv.Itoa(n))
	child.Stderr = os.Stderr
	stdin, err := child.StdinPipe()
	require.NoError(tb, err)
	stdout, err := child.StdoutPipe()
	require.NoError(tb, err)
	require.NoError(tb, child.Start())
	out := bufio.NewReader(stdout)
	line, err := out.ReadString('\n')
	require.NoError(tb, err, "client process: %q", line)
	require.Equal(tb, "started\n", line)
	start, cpu0 := time.Now(), processCPU(tb)
	_, err = io.WriteString(stdin, "dial\n")
	require.NoError(tb, err)
	line, err = out.ReadString('\n')
	require.NoError(tb, err, "client process: %q", line)
	require.Equal(tb, "ready\n", line)
	waitConns(n)
	return time.Since(start), processCPU(tb) - cpu0, func() {
		_ = stdin.Close() // the child disconnects and exits
		_, _ = io.Copy(io.Discard, out)
		require.NoError(tb, child.Wait())
		waitConns(0)
	}
}

// idleAfterGC samples memory once the n sockets opened since before are
// idle: their writers end a moment after the last frame (the connect and
// subscribe results), so this waits up to a few seconds for the
// goroutines to settle at one per socket.
func idleAfterGC(tb testing.TB, before memSample, n int) memSample {
	tb.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine()-before.goroutines > n && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	return heapAfterGC()
}

type memSample struct {
	runtime.MemStats
	goroutines int
}

func heapAfterGC() memSample {
	var s memSample
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&s.MemStats)
	s.goroutines = runtime.NumGoroutine()
	return s
}

// TestBenchClientProcess is not a test: BenchmarkIdleConnectionMemory runs
// this binary with MQLIVE_BENCH_CLIENTS="url token n" to hold n idle
// subscribed clients in a separate process: it prints "started", dials
// when a line arrives on stdin, prints "ready" and holds the clients until
// its stdin closes.
func TestBenchClientProcess(t *testing.T) {
	spec := os.Getenv("MQLIVE_BENCH_CLIENTS")
	if spec == "" {
		t.Skip("helper process for BenchmarkIdleConnectionMemory")
	}
	f := strings.Fields(spec)
	require.Len(t, f, 3)
	n, err := strconv.Atoi(f[2])
	require.NoError(t, err)
	raiseFileLimit(t, n+256)
	// Up: the benchmark starts its clock when it sends the dial line.
	fmt.Println("started")
	in := bufio.NewReader(os.Stdin)
	if _, err := in.ReadString('\n'); err != nil {
		return
	}
	dialMany(t, f[0], f[1], n, false)
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, in)
}

// raiseFileLimit lifts the soft open-file limit towards the hard one when
// the benchmark needs more descriptors than it allows.
func raiseFileLimit(tb testing.TB, need int) {
	tb.Helper()
	var lim syscall.Rlimit
	require.NoError(tb, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim))
	if lim.Cur >= uint64(need) {
		return
	}
	if lim.Max < uint64(need) {
		tb.Skipf("needs %d open files, hard limit is %d", need, lim.Max)
	}
	lim.Cur = lim.Max
	require.NoError(tb, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim))
}
