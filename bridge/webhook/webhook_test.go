package webhook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/webhook"
)

const secret = "whsec-test-0123456789abcdef"

// hit is one request the receiver got.
type hit struct {
	at      time.Time
	attempt int
	event   webhook.Event
	data    json.RawMessage
	path    string
}

// receiver is a real HTTP server on loopback that verifies every
// signature and fails the first failFirst attempts of each event with 500.
type receiver struct {
	srv       *httptest.Server
	failFirst int
	hang      chan struct{} // non-nil: every request waits for it to close
	mu        sync.Mutex
	hits      []hit
	badSig    int
	delivered map[string]bool
}

func newReceiver(t *testing.T, failFirst int) *receiver {
	r := &receiver{failFirst: failFirst, delivered: map[string]bool{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	if r.hang != nil {
		select {
		case <-r.hang:
		case <-req.Context().Done():
			return
		}
	}
	body, _ := io.ReadAll(req.Body)
	err := webhook.Verify(secret, req.Header.Get(webhook.HeaderTimestamp), req.Header.Get(webhook.HeaderSignature), body, 5*time.Minute, time.Now())
	var ev struct {
		webhook.Event
		Data json.RawMessage `json:"data"`
	}
	jerr := json.Unmarshal(body, &ev)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil || jerr != nil || req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/json" ||
		req.Header.Get(webhook.HeaderEventID) != ev.ID || req.Header.Get(webhook.HeaderEvent) != ev.Type {
		r.badSig++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	n, _ := strconv.Atoi(req.Header.Get(webhook.HeaderAttempt))
	r.hits = append(r.hits, hit{at: time.Now(), attempt: n, event: ev.Event, data: ev.Data, path: req.URL.Path})
	if n <= r.failFirst {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	r.delivered[ev.ID] = true
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) snapshot() ([]hit, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hit(nil), r.hits...), r.badSig
}

// deliveredOn lists the delivered events that arrived on path.
func (r *receiver) deliveredOn(path string) []hit {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []hit
	for _, h := range r.hits {
		if h.path == path && h.attempt > r.failFirst {
			out = append(out, h)
		}
	}
	return out
}

// start runs a dispatcher until the test ends.
func start(t *testing.T, eps ...webhook.Endpoint) (*webhook.Dispatcher, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	d, err := webhook.New(webhook.Config{Endpoints: eps, Node: "n1", Registerer: reg})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	return d, reg
}

func count(reg *prometheus.Registry, name, outcome string) int {
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() != "mqlive_webhook_deliveries_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			var wh, oc string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "webhook":
					wh = l.GetValue()
				case "outcome":
					oc = l.GetValue()
				}
			}
			if wh == name && oc == outcome {
				return int(m.GetCounter().GetValue())
			}
		}
	}
	return -1
}

func waitCount(t *testing.T, reg *prometheus.Registry, name, outcome string, want int) {
	t.Helper()
	bridgetest.Eventually(t, 10*time.Second, func() error {
		if got := count(reg, name, outcome); got != want {
			return fmt.Errorf("%s %s = %d, want %d", name, outcome, got, want)
		}
		return nil
	})
}

func endpoint(name, url string) webhook.Endpoint {
	return webhook.Endpoint{Name: name, URL: url, Secret: secret, InitialBackoff: 40 * time.Millisecond, MaxBackoff: 400 * time.Millisecond}
}

// TestRetryWithBackoffThenDelivered: the receiver fails the first three
// attempts with 500; the fourth is delivered, every attempt signed and
// carrying the same event id, and each wait is within the jittered bounds
// of its doubling backoff.
func TestRetryWithBackoffThenDelivered(t *testing.T) {
	rcv := newReceiver(t, 3)
	d, reg := start(t, endpoint("wh", rcv.srv.URL))
	online := false
	d.Emit("acme", webhook.EventDeviceOffline, webhook.DeviceData{Device: "kitchen", Online: &online})
	waitCount(t, reg, "wh", "delivered", 1)
	hits, bad := rcv.snapshot()
	require.Zero(t, bad, "every attempt verifies")
	require.Len(t, hits, 4)
	require.Equal(t, 3, count(reg, "wh", "failed_attempt"))
	require.Zero(t, count(reg, "wh", "gave_up"))
	for i, h := range hits {
		require.Equal(t, i+1, h.attempt)
		require.Equal(t, hits[0].event.ID, h.event.ID, "retries repeat the event id")
		require.Equal(t, webhook.EventDeviceOffline, h.event.Type)
		require.Equal(t, "acme", h.event.Tenant)
		require.Equal(t, "n1", h.event.Node)
		require.JSONEq(t, `{"device":"kitchen","online":false,"stale":false,"ts":"0001-01-01T00:00:00Z"}`, string(h.data))
	}
	// Waits after attempts 1, 2, 3: 40, 80, 160 ms, each drawn from its
	// upper half; the upper bound allows for the attempt itself and a
	// busy machine.
	for i := 1; i < len(hits); i++ {
		base := 40 * time.Millisecond << (i - 1)
		gap := hits[i].at.Sub(hits[i-1].at)
		require.GreaterOrEqual(t, gap, base/2, "wait %d", i)
		require.Less(t, gap, base+time.Second, "wait %d", i)
	}
}

// TestGiveUpAtMaxAttempts: a receiver that always fails gets exactly
// max_attempts attempts, then the event is given up and counted.
func TestGiveUpAtMaxAttempts(t *testing.T) {
	rcv := newReceiver(t, 1<<30)
	ep := endpoint("wh", rcv.srv.URL)
	ep.MaxAttempts = 3
	d, reg := start(t, ep)
	d.Emit("acme", webhook.EventDeviceStale, webhook.DeviceData{Device: "d1", Stale: true})
	waitCount(t, reg, "wh", "gave_up", 1)
	hits, bad := rcv.snapshot()
	require.Zero(t, bad)
	require.Len(t, hits, 3)
	require.Equal(t, 3, count(reg, "wh", "failed_attempt"))
	require.Zero(t, count(reg, "wh", "delivered"))
}

// TestGiveUpAtMaxRetryTime: with many attempts allowed, the retry time
// bounds the delivery: no attempt starts after it.
func TestGiveUpAtMaxRetryTime(t *testing.T) {
	rcv := newReceiver(t, 1<<30)
	ep := endpoint("wh", rcv.srv.URL)
	ep.MaxAttempts = 1000
	ep.InitialBackoff, ep.MaxBackoff = 50*time.Millisecond, 100*time.Millisecond
	ep.MaxRetryTime = 600 * time.Millisecond
	d, reg := start(t, ep)
	d.Emit("acme", webhook.EventDeviceStale, webhook.DeviceData{Device: "d1", Stale: true})
	waitCount(t, reg, "wh", "gave_up", 1)
	hits, _ := rcv.snapshot()
	require.GreaterOrEqual(t, len(hits), 3, "retried until the time ran out")
	require.LessOrEqual(t, hits[len(hits)-1].at.Sub(hits[0].at), ep.MaxRetryTime, "no attempt after max_retry_time")
	// At most one attempt per 25 ms (half the first wait).
	require.LessOrEqual(t, len(hits), 1+int(ep.MaxRetryTime/(25*time.Millisecond)))
}

// TestHangingReceiverNeverBlocksEmit: while the receiver hangs, Emit
// returns at once; the queue stays at its bound and the oldest events are
// dropped and counted. Once the receiver answers, the newest events
// arrive.
func TestHangingReceiverNeverBlocksEmit(t *testing.T) {
	rcv := newReceiver(t, 0)
	rcv.hang = make(chan struct{})
	ep := endpoint("wh", rcv.srv.URL)
	ep.QueueSize, ep.Workers = 5, 1
	d, reg := start(t, ep)
	d.Emit("acme", webhook.EventCommandResult, webhook.CommandData{Device: "first"})
	// The worker has taken the first event and hangs in its attempt.
	bridgetest.Eventually(t, 5*time.Second, func() error {
		if v := queueLen(reg); v != 0 {
			return fmt.Errorf("queue %v", v)
		}
		return nil
	})
	const n = 10000
	emitted := make(chan struct{})
	go func() {
		for i := range n {
			d.Emit("acme", webhook.EventCommandResult, webhook.CommandData{Device: strconv.Itoa(i)})
		}
		close(emitted)
	}()
	select {
	case <-emitted:
	case <-time.After(10 * time.Second):
		t.Fatal("Emit blocked on a hanging receiver")
	}
	require.Equal(t, 5.0, queueLen(reg))
	require.Equal(t, n-5, count(reg, "wh", "dropped"))
	close(rcv.hang)
	waitCount(t, reg, "wh", "delivered", 6)
	var got []string
	for _, h := range rcv.deliveredOn("/") {
		var c webhook.CommandData
		require.NoError(t, json.Unmarshal(h.data, &c))
		got = append(got, c.Device)
	}
	require.ElementsMatch(t, []string{"first", "9995", "9996", "9997", "9998", "9999"}, got, "the newest events were kept")
}

// queueLen is the endpoint's mqlive_webhook_queue_length.
func queueLen(reg *prometheus.Registry) float64 {
	mfs, _ := reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "mqlive_webhook_queue_length" {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return -1
}

// TestTenantAndEventFilters: an endpoint gets only the event types and
// tenants it names; one naming none gets everything.
func TestTenantAndEventFilters(t *testing.T) {
	rcv := newReceiver(t, 0)
	only := endpoint("only", rcv.srv.URL+"/only")
	only.Tenants, only.Events = []string{"acme"}, []string{webhook.EventDeviceOffline}
	all := endpoint("all", rcv.srv.URL+"/all")
	d, reg := start(t, only, all)
	require.True(t, d.Wants("acme", webhook.EventDeviceOffline))
	require.True(t, d.Wants("globex", webhook.EventDeviceOnline), "the unfiltered endpoint wants it")
	d.Emit("acme", webhook.EventDeviceOffline, webhook.DeviceData{Device: "a"})
	d.Emit("acme", webhook.EventDeviceOnline, webhook.DeviceData{Device: "b"})
	d.Emit("globex", webhook.EventDeviceOffline, webhook.DeviceData{Device: "c"})
	waitCount(t, reg, "all", "delivered", 3)
	waitCount(t, reg, "only", "delivered", 1)
	got := rcv.deliveredOn("/only")
	require.Len(t, got, 1)
	require.Equal(t, "acme", got[0].event.Tenant)
	require.Equal(t, webhook.EventDeviceOffline, got[0].event.Type)
	require.JSONEq(t, `{"device":"a","stale":false,"ts":"0001-01-01T00:00:00Z"}`, string(got[0].data))

	var nilD *webhook.Dispatcher
	require.False(t, nilD.Wants("acme", webhook.EventDeviceOffline))
	nilD.Emit("acme", webhook.EventDeviceOffline, nil) // no panic
	nilD.Rejected("acme", "tasmota", "tasmota", "invalid_json")
}

// TestRejectedBurst: rejections of one source within the window give one
// event with the counts by reason when the window ends; a source below the
// threshold gives none.
func TestRejectedBurst(t *testing.T) {
	rcv := newReceiver(t, 0)
	ep := endpoint("wh", rcv.srv.URL)
	ep.RejectedThreshold, ep.RejectedWindow = 3, 300*time.Millisecond
	d, reg := start(t, ep)
	start := time.Now()
	for range 4 {
		d.Rejected("acme", "tasmota", "tele", "invalid_json")
	}
	d.Rejected("acme", "tasmota", "tele", "invalid_topic")
	d.Rejected("acme", "zigbee2mqtt", "zigbee2mqtt", "invalid_json") // below the threshold
	d.Rejected("acme", "zigbee2mqtt", "zigbee2mqtt", "invalid_json")
	waitCount(t, reg, "wh", "delivered", 1)
	got := rcv.deliveredOn("/")
	require.Len(t, got, 1)
	require.GreaterOrEqual(t, got[0].at.Sub(start), ep.RejectedWindow, "sent when the window ends")
	require.Equal(t, webhook.EventSourceRejected, got[0].event.Type)
	var data webhook.RejectedData
	require.NoError(t, json.Unmarshal(got[0].data, &data))
	require.Equal(t, "tasmota", data.Family)
	require.Equal(t, "tele", data.Base)
	require.Equal(t, 5, data.Total)
	require.Equal(t, map[string]int{"invalid_json": 4, "invalid_topic": 1}, data.Reasons)
	require.Equal(t, ep.RejectedWindow, data.WindowEnd.Sub(data.WindowStart))
	// The zigbee2mqtt window has ended too, without an event.
	time.Sleep(2 * ep.RejectedWindow) // nothing to poll for: the assertion is that nothing comes
	require.Len(t, rcv.deliveredOn("/"), 1)
}

// TestSignKnownVector pins the scheme the README documents (the same
// value as `printf '%s' "$ts.$body" | openssl dgst -sha256 -hmac "$secret"`).
func TestSignKnownVector(t *testing.T) {
	require.Equal(t, "v1=fbb1aa05c22b1f8f70f12daa6e2a73ca569ac3cf02fac9003e036e3096249a03",
		webhook.Sign("whsec-0123456789abcdef", "1700000000", []byte(`{"id":"evt_1"}`)))
}

func TestVerify(t *testing.T) {
	body := []byte(`{"id":"evt_1"}`)
	now := time.Unix(1700000000, 0)
	sig := webhook.Sign(secret, "1700000000", body)
	require.NoError(t, webhook.Verify(secret, "1700000000", sig, body, time.Minute, now))
	require.ErrorIs(t, webhook.Verify("other-secret-0123456789", "1700000000", sig, body, time.Minute, now), webhook.ErrBadSignature)
	require.ErrorIs(t, webhook.Verify(secret, "1700000000", sig, []byte(`{"id":"evt_2"}`), time.Minute, now), webhook.ErrBadSignature)
	require.ErrorIs(t, webhook.Verify(secret, "1700000000", sig[3:], body, time.Minute, now), webhook.ErrBadSignature)
	require.ErrorIs(t, webhook.Verify(secret, "1700000000", sig, body, time.Minute, now.Add(2*time.Minute)), webhook.ErrBadTimestamp, "replayed later")
	require.ErrorIs(t, webhook.Verify(secret, "", sig, body, time.Minute, now), webhook.ErrBadTimestamp)
	require.ErrorIs(t, webhook.Verify(secret, "17e8", sig, body, time.Minute, now), webhook.ErrBadTimestamp)
}

// FuzzVerify: no header value makes Verify panic, and only the true
// signature of the timestamp and body passes.
func FuzzVerify(f *testing.F) {
	f.Add("1700000000", "v1=00", []byte(`{}`))
	f.Add("-9223372036854775808", "", []byte(nil))
	f.Add("9223372036854775807", "v1=", []byte("x"))
	f.Fuzz(func(t *testing.T, ts, sig string, body []byte) {
		now := time.Unix(1700000000, 0)
		err := webhook.Verify(secret, ts, sig, body, time.Hour, now)
		if err == nil && sig != webhook.Sign(secret, ts, body) {
			t.Fatalf("accepted a wrong signature %q", sig)
		}
	})
}

func TestNewRefusesBadEndpoints(t *testing.T) {
	for name, ep := range map[string]webhook.Endpoint{
		"name":    {Name: "Bad Name", URL: "https://x.example", Secret: secret},
		"url":     {Name: "a", URL: "ftp://x.example", Secret: secret},
		"secret":  {Name: "a", URL: "https://x.example", Secret: "short"},
		"event":   {Name: "a", URL: "https://x.example", Secret: secret, Events: []string{"device.gone"}},
		"backoff": {Name: "a", URL: "https://x.example", Secret: secret, InitialBackoff: time.Minute, MaxBackoff: time.Second},
	} {
		_, err := webhook.New(webhook.Config{Endpoints: []webhook.Endpoint{ep}})
		require.Error(t, err, name)
	}
	ok := webhook.Endpoint{Name: "a", URL: "https://x.example", Secret: secret}
	_, err := webhook.New(webhook.Config{Endpoints: []webhook.Endpoint{ok, ok}})
	require.ErrorContains(t, err, "used twice")
}

// TestMetricsDocumentedAndLinted: every webhook metric is in the README's
// table and passes the Prometheus linter.
func TestMetricsDocumentedAndLinted(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	_, reg := start(t, endpoint("wh", "http://127.0.0.1:1/"))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	require.Len(t, mfs, 3, "every series exists before the first event")
	for _, name := range []string{"mqlive_webhook_deliveries_total", "mqlive_webhook_queue_length", "mqlive_webhook_attempt_duration_seconds"} {
		require.Contains(t, string(readme), "`"+name+"{", "README.md does not document %s", name)
	}
	problems, err := testutil.GatherAndLint(reg)
	require.NoError(t, err)
	require.Empty(t, problems)
}
