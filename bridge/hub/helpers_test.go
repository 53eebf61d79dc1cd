package hub

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/metrics"
	"github.com/mqlive/mqlive/bridge/state"
	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/devices"
)

var t0 = time.Date(2026, 11, 23, 17, 0, 0, 0, time.UTC)

// newHub returns a hub with fresh metrics.
func newHub(cfg Config) (*Hub, *metrics.Metrics) {
	m := metrics.New(prometheus.NewRegistry())
	cfg.Metrics = m
	return New(cfg), m
}

// session adds a session of tenant to h.
func session(t *testing.T, h *Hub, id, tenant string) *Session {
	t.Helper()
	s := h.NewSession(id, "user-"+id, tenant, "node-a")
	require.NoError(t, h.Add(s))
	return s
}

// pub builds a publication of channel the way the state store does.
func pub(channel string, offset uint64, data string) *state.Publication {
	p := &state.Publication{Publication: wire.Publication{Channel: channel, Epoch: "e1", Offset: offset, Data: json.RawMessage(data)}, Time: time.Now()}
	p.Frame = wire.AppendMessage(nil, &p.Publication)
	return p
}

// readingPub builds a publication carrying r.
func readingPub(t *testing.T, channel string, offset uint64, r devices.Reading) *state.Publication {
	t.Helper()
	data, err := json.Marshal(&r)
	require.NoError(t, err)
	p := pub(channel, offset, string(data))
	p.Reading = &r
	return p
}

func reading(device string, ts time.Time, metrics map[string]any) devices.Reading {
	return devices.Reading{Device: device, Family: "zigbee2mqtt", TS: ts, ReceivedAt: ts, Metrics: metrics}
}

// ready returns what the session's writer would get right now, without
// waiting.
func ready(t *testing.T, s *Session) []Frame {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out, _ := s.Next(ctx, nil)
	return out
}

// next waits up to timeout for the writer's next batch.
func next(t *testing.T, s *Session, timeout time.Duration) []Frame {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := s.Next(ctx, nil)
	require.NoError(t, err, "nothing to write within %v", timeout)
	return out
}

// frameMsg is a decoded frame.
type frameMsg struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
}

func decode(t *testing.T, f Frame) frameMsg {
	t.Helper()
	require.False(t, f.Close, "close frame where a text frame was expected")
	require.True(t, json.Valid(f.Data), "%q", f.Data)
	var m frameMsg
	require.NoError(t, json.Unmarshal(f.Data, &m))
	return m
}

func message(t *testing.T, f Frame) wire.Publication {
	t.Helper()
	m := decode(t, f)
	require.Equal(t, wire.MethodMessage, m.Method, "%s", f.Data)
	var p wire.Publication
	require.NoError(t, json.Unmarshal(m.Params, &p))
	return p
}

func lagged(t *testing.T, f Frame) wire.LaggedParams {
	t.Helper()
	m := decode(t, f)
	require.Equal(t, wire.MethodLagged, m.Method, "%s", f.Data)
	var p wire.LaggedParams
	require.NoError(t, json.Unmarshal(m.Params, &p))
	return p
}

// describe renders frames compactly for assertions: "c:3" is a message
// of channel c at offset 3, "lagged c@2", "resp", "close 4009".
func describe(t *testing.T, frames []Frame) []string {
	t.Helper()
	out := make([]string, 0, len(frames))
	for _, f := range frames {
		if f.Close {
			out = append(out, "close "+itoa(f.Code))
			continue
		}
		m := decode(t, f)
		switch m.Method {
		case wire.MethodMessage:
			p := message(t, f)
			out = append(out, p.Channel+":"+itoa(int(p.Offset)))
		case wire.MethodLagged:
			l := lagged(t, f)
			out = append(out, "lagged "+l.Channel+"@"+itoa(int(l.Offset)))
		case wire.MethodDisconnect:
			var d wire.DisconnectParams
			require.NoError(t, json.Unmarshal(m.Params, &d))
			out = append(out, "disconnect "+itoa(d.Code))
		default:
			out = append(out, "resp "+string(m.ID))
		}
	}
	return out
}

func itoa(i int) string { return strconv.Itoa(i) }

func response(id int) []byte {
	b, _ := json.Marshal(wire.Response{JSONRPC: "2.0", ID: json.RawMessage(strconv.Itoa(id)), Result: struct{}{}})
	return b
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, timeout time.Duration, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", timeout, msg)
		}
		time.Sleep(time.Millisecond)
	}
}

// subscribe subscribes s to channel and ends its recovery at once with no
// known position, as a subscribe with nothing to recover does.
func subscribe(t testing.TB, h *Hub, s *Session, channel string, opts SubOptions) *Sub {
	t.Helper()
	sub, err := h.Subscribe(context.Background(), s, channel, opts)
	require.NoError(t, err)
	s.Recover(sub, nil, wire.StreamPosition{}, nil)
	return sub
}
