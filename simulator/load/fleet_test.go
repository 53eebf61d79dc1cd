package load

import (
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// handle counts each publication once per subscriber, attributes it to its
// step, and keeps duplicates, late arrivals, strangers and priming out of
// the received count.
func TestHandleCounts(t *testing.T) {
	f := newFleet(slog.New(slog.DiscardHandler), time.Time{}, 1, 2)
	s := &subscriber{channel: []byte("device:lg-0"), last: 10}
	deliver := func(channel string, offset uint64, step int64, sentUS int64, now time.Duration) {
		f.handle(s, frameOf(t, channel, offset, step, int64(offset), sentUS, ""), now)
	}
	deliver("device:lg-0", 11, 1, 1000, 3*time.Millisecond)  // 2 ms
	deliver("device:lg-0", 12, 1, 2000, 12*time.Millisecond) // 10 ms
	deliver("device:lg-0", 12, 1, 2000, 13*time.Millisecond) // duplicate
	deliver("device:lg-0", 9, 1, 2000, 13*time.Millisecond)  // older than the subscribe result: duplicate
	deliver("device:lg-0", 13, 0, 2000, 13*time.Millisecond) // priming: not counted
	deliver("device:lg-1", 14, 1, 2000, 13*time.Millisecond) // another channel: a bad frame
	deliver("device:lg-0", 15, 9, 2000, 13*time.Millisecond) // a step this run never had
	f.handle(s, []byte(`{"jsonrpc":"2.0","method":"lagged","params":{"channel":"device:lg-0","offset":15}}`), 0)
	f.handle(s, []byte(`not json`), 0)

	st := f.steps[1]
	require.EqualValues(t, 2, st.received.Load())
	require.EqualValues(t, 2, st.dups.Load())
	require.InEpsilon(t, 2*time.Millisecond, st.hist.quantile(0.5), 1.0/32, "within one bucket")
	require.Equal(t, 10*time.Millisecond, st.hist.maximum())
	require.EqualValues(t, 1, f.lagged.Load())
	require.EqualValues(t, 2, f.badFrames.Load())
	require.Zero(t, f.steps[0].received.Load())

	st.closed.Store(true)
	deliver("device:lg-0", 16, 1, 2000, 20*time.Second)
	require.EqualValues(t, 2, st.received.Load(), "after the drain a delivery is late, not received")
	require.EqualValues(t, 1, st.late.Load())
}

func TestValidate(t *testing.T) {
	ok := Config{WSURL: "ws://127.0.0.1:8080/ws", MQTTURL: "tcp://localhost:1883", TokenSecret: strings.Repeat("s", 32),
		Workloads: []Workload{W1, W2, W3}}.withDefaults()
	require.NoError(t, ok.validate())
	for name, mutate := range map[string]func(*Config){
		"remote ws":        func(c *Config) { c.WSURL = "ws://10.0.0.1:8080/ws" },
		"ipv6 loopback":    func(c *Config) { c.WSURL = "ws://[::1]:8080/ws" },
		"remote mqtt":      func(c *Config) { c.MQTTURL = "tcp://example.com:1883" },
		"tls mqtt":         func(c *Config) { c.MQTTURL = "ssl://127.0.0.1:8883" },
		"no port":          func(c *Config) { c.WSURL = "ws://127.0.0.1/ws" },
		"short secret":     func(c *Config) { c.TokenSecret = "short" },
		"no target":        func(c *Config) { c.WSURL = "" },
		"both targets":     func(c *Config) { c.BridgeBin = "mqlive" },
		"too many sockets": func(c *Config) { c.Workloads[0].Subscribers = MaxSubscribers + 1 },
		"more channels":    func(c *Config) { c.Workloads[0].Channels = c.Workloads[0].Subscribers + 1 },
		"zero rate":        func(c *Config) { c.Workloads[0].Rates = []float64{0} },
		"huge rate":        func(c *Config) { c.Workloads[0].Rates = []float64{MaxRate + 1} },
		"small payload":    func(c *Config) { c.Workloads[0].PayloadBytes = 10 },
		"long step":        func(c *Config) { c.Workloads[0].Step = time.Hour },
		"long timeout":     func(c *Config) { c.Timeout = 3 * time.Hour },
		"wildcard base":    func(c *Config) { c.Base = "z2m/#" },
		"no workload":      func(c *Config) { c.Workloads = nil },
	} {
		c := ok
		c.Workloads = append([]Workload(nil), ok.Workloads...)
		mutate(&c)
		require.Error(t, c.validate(), name)
	}
	require.Equal(t, "ws://127.0.0.1:8080/ws", loopbackHost("ws://localhost:8080/ws"))
}

func TestProc(t *testing.T) {
	rss, err := procRSS(os.Getpid())
	require.NoError(t, err)
	require.Positive(t, rss)
	_, err = procCPU(os.Getpid())
	require.NoError(t, err)
	// The command name may hold spaces and parentheses.
	cpu, err := parseStatCPU([]byte("42 (a) b (c)) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 5 0 0"))
	require.NoError(t, err)
	require.Equal(t, 3*time.Second, cpu)
	_, err = parseStatCPU([]byte("42 (x) S 1 2"))
	require.Error(t, err)
	require.Equal(t, -1.0, startCPU(0).percent())
}

func TestPayloadSize(t *testing.T) {
	p := &publisher{payload: 256}
	b := p.build(12, 345678, 1234567890123)
	require.Len(t, b, 256)
	require.Contains(t, string(b), `"lg_step":12,"lg_seq":345678,"lg_sent_us":1234567890123,`)
	require.True(t, strings.HasSuffix(string(b), `x"}`))
}
