package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Header names of a delivery.
const (
	HeaderTimestamp = "Mqlive-Timestamp"
	HeaderSignature = "Mqlive-Signature"
	HeaderEvent     = "Mqlive-Event"
	HeaderEventID   = "Mqlive-Event-Id"
	HeaderAttempt   = "Mqlive-Attempt"
)

// maxResponseBody is how much of a response is read (and discarded) so
// that the connection can be reused; a receiver's body is never used.
const maxResponseBody = 64 << 10

// endpoint is one Endpoint with its queue and state.
type endpoint struct {
	cfg    Endpoint
	client *http.Client
	queue  chan *Event
	counts *counters
	log    *slog.Logger
	bursts *bursts
	events map[string]bool // nil: all
	tenant map[string]bool // nil: all
}

func newEndpoint(cfg Endpoint, tr http.RoundTripper, m *metrics, log *slog.Logger) *endpoint {
	e := &endpoint{
		cfg: cfg,
		client: &http.Client{
			Transport: tr,
			Timeout:   cfg.Timeout,
			// A redirect is an answer the receiver must fix; following it
			// would send the signed body somewhere not configured.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		queue:  make(chan *Event, cfg.QueueSize),
		counts: m.counters(cfg.Name),
		log:    log.With("webhook", cfg.Name),
		bursts: newBursts(cfg.RejectedThreshold, cfg.RejectedWindow),
	}
	if len(cfg.Events) > 0 {
		e.events = map[string]bool{}
		for _, ev := range cfg.Events {
			e.events[ev] = true
		}
	}
	if len(cfg.Tenants) > 0 {
		e.tenant = map[string]bool{}
		for _, t := range cfg.Tenants {
			e.tenant[t] = true
		}
	}
	return e
}

func (e *endpoint) wants(tenant, typ string) bool {
	return (e.events == nil || e.events[typ]) && (e.tenant == nil || e.tenant[tenant])
}

// enqueue adds ev, dropping the oldest queued event when the queue is
// full. Several producers may race for the last place; each of them
// either queues or counts a drop, so nothing blocks.
func (e *endpoint) enqueue(ev *Event) {
	for {
		select {
		case e.queue <- ev:
			return
		default:
		}
		select {
		case <-e.queue:
			e.counts.dropped.Inc()
		default:
		}
	}
}

// work delivers queued events until ctx ends.
func (e *endpoint) work(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-e.queue:
			e.deliver(ctx, ev)
		}
	}
}

// deliver sends ev until an attempt succeeds or the retry bounds are
// reached.
func (e *endpoint) deliver(ctx context.Context, ev *Event) {
	body, err := json.Marshal(ev)
	if err != nil {
		e.log.Error("webhook event cannot be encoded", "type", ev.Type, "err", err)
		e.counts.gaveUp.Inc()
		return
	}
	first := time.Now()
	for attempt := 1; ; attempt++ {
		retryAfter, err := e.attempt(ctx, ev, body, attempt)
		if err == nil {
			e.counts.delivered.Inc()
			return
		}
		if ctx.Err() != nil {
			return // shutting down: neither a failure of the receiver nor given up
		}
		e.counts.failedAttempt.Inc()
		wait := max(backoff(e.cfg.InitialBackoff, e.cfg.MaxBackoff, attempt), min(retryAfter, e.cfg.MaxBackoff))
		if attempt >= e.cfg.MaxAttempts || time.Since(first)+wait > e.cfg.MaxRetryTime {
			e.counts.gaveUp.Inc()
			e.log.Warn("webhook delivery given up", "type", ev.Type, "id", ev.ID, "attempts", attempt, "err", err)
			return
		}
		e.log.Debug("webhook attempt failed; retrying", "type", ev.Type, "id", ev.ID, "attempt", attempt, "wait", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// backoff is the wait after failed attempt n (1-based): InitialBackoff ×
// 2^(n-1), at most maxWait, drawn at random from its upper half.
func backoff(initial, maxWait time.Duration, n int) time.Duration {
	d := maxWait
	if n-1 < 62 && initial<<(n-1) > 0 && initial<<(n-1) < maxWait {
		d = initial << (n - 1)
	}
	return d/2 + rand.N(d/2+1)
}

// errStatus is a response that is not 2xx.
type errStatus int

func (s errStatus) Error() string { return "status " + strconv.Itoa(int(s)) }

// attempt POSTs body once. It returns the wait a 429 or 503 response
// asked for in Retry-After (in seconds), else 0.
func (e *endpoint) attempt(ctx context.Context, ev *Event, body []byte, n int) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("webhook request: %w", err)
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "mqlive-webhook/1")
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(e.cfg.Secret, ts, body))
	req.Header.Set(HeaderEvent, ev.Type)
	req.Header.Set(HeaderEventID, ev.ID)
	req.Header.Set(HeaderAttempt, strconv.Itoa(n))
	start := time.Now()
	resp, err := e.client.Do(req)
	e.counts.seconds.Observe(time.Since(start).Seconds())
	if err != nil {
		// The url.Error repeats the URL, which may hold a token.
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) && ue.Unwrap() != nil {
			err = ue.Unwrap()
		}
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseBody))
	_ = resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return 0, nil
	}
	var ra time.Duration
	if slices.Contains([]int{http.StatusTooManyRequests, http.StatusServiceUnavailable}, resp.StatusCode) {
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
			ra = time.Duration(s) * time.Second
		}
	}
	return ra, errStatus(resp.StatusCode)
}
