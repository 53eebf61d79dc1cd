//go:build !js

package client

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// transitions records every EvState and EvSubState as "from>to code", and
// the sub's as "ch: from>to code".
type transitions struct{ ch chan string }

func withTransitions(tr *transitions, mod func(*Config)) func(*Config) {
	return func(c *Config) {
		if mod != nil {
			mod(c)
		}
		next := c.OnEvent
		c.OnEvent = func(e Event) {
			switch e.Kind {
			case EvState:
				tr.ch <- e.From.String() + ">" + e.State.String() + " " + strconv.Itoa(e.Code)
			case EvSubState:
				tr.ch <- e.Channel + ": " + e.SubFrom.String() + ">" + e.SubState.String() + " " + strconv.Itoa(e.Code)
			}
			next(e)
		}
	}
}

func newStateHarness(t *testing.T, mod func(*Config)) (*harness, *transitions) {
	tr := &transitions{ch: make(chan string, 1024)}
	return newHarness(t, withTransitions(tr, mod)), tr
}

// expect takes the next len(want) transitions and compares them.
func (tr *transitions) expect(t *testing.T, want ...string) {
	t.Helper()
	var got []string
	deadline := time.After(waitFor)
	for len(got) < len(want) {
		select {
		case s := <-tr.ch:
			got = append(got, s)
		case <-deadline:
			require.Equal(t, want, got, "transitions not seen")
		}
	}
	require.Equal(t, want, got)
}

// none asserts that no transition follows within d.
func (tr *transitions) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case s := <-tr.ch:
		t.Fatalf("unexpected transition %q", s)
	case <-time.After(d):
	}
}

func TestStatesConnect(t *testing.T) {
	h, tr := newStateHarness(t, nil)
	h.c.Connect(nil)
	h.handshake(t, "tok1")
	tr.expect(t, "disconnected>connecting 0", "connecting>connected 0")
	tr.none(t, 50*time.Millisecond)
}

func TestStatesServerCloseReconnects(t *testing.T) {
	h, tr := newStateHarness(t, nil)
	h.c.Connect(nil)
	conn := h.handshake(t, "tok1")
	tr.expect(t, "disconnected>connecting 0", "connecting>connected 0")
	conn.h.Closed(1001, "going away")
	h.handshake(t, "tok1")
	// The dial after the backoff stays connecting: no event of its own.
	tr.expect(t, "connected>connecting 1001", "connecting>connected 0")
}

func TestStatesUnauthorizedCloseStops(t *testing.T) {
	h, tr := newStateHarness(t, nil)
	h.c.Connect(nil)
	conn := h.handshake(t, "tok1")
	tr.expect(t, "disconnected>connecting 0", "connecting>connected 0")
	conn.h.Closed(CodeUnauthorized, "bad token")
	tr.expect(t, "connected>disconnected 4001")
	h.tr.noDial(t, 100*time.Millisecond)
	tr.none(t, 0)
}

func TestStatesClose(t *testing.T) {
	h, tr := newStateHarness(t, nil)
	h.c.Connect(nil)
	h.handshake(t, "tok1")
	h.c.Subscribe("devices", SubscribeOptions{}, nil)
	tr.expect(t, "disconnected>connecting 0", "connecting>connected 0", "devices: unsubscribed>subscribing 0")
	h.c.Close()
	tr.expect(t, "devices: subscribing>unsubscribed 1000", "connected>closed 1000")
	<-h.c.Done()
	tr.none(t, 0)

	// Closing a client that never connected.
	h2, tr2 := newStateHarness(t, nil)
	h2.c.Close()
	tr2.expect(t, "disconnected>closed 1000")
}

func TestStatesSubscriptionLaggedAndReconnect(t *testing.T) {
	h, tr := newStateHarness(t, nil)
	h.c.Connect(nil)
	conn := h.handshake(t, "tok1")
	h.c.Subscribe("devices", SubscribeOptions{}, nil)
	req := conn.next(t)
	conn.reply(req.Get("id"), `{"channel":"devices","epoch":"e1","offset":4,"recovered":false,"snapshot":[]}`)
	tr.expect(t, "disconnected>connecting 0", "connecting>connected 0",
		"devices: unsubscribed>subscribing 0", "devices: subscribing>subscribed 0")

	// lagged: re-sync with since.
	conn.h.Message(`{"jsonrpc":"2.0","method":"lagged","params":{"channel":"devices","offset":9}}`)
	req = conn.next(t)
	require.Equal(t, "subscribe", str(req, "method"))
	conn.reply(req.Get("id"), `{"channel":"devices","epoch":"e1","offset":9,"recovered":true}`)
	tr.expect(t, "devices: subscribed>subscribing 0", "devices: subscribing>subscribed 0")

	// A reconnect resubscribes.
	conn.h.Closed(1006, "")
	conn2 := h.handshake(t, "tok1")
	req = conn2.next(t)
	require.Equal(t, "subscribe", str(req, "method"))
	conn2.reply(req.Get("id"), `{"channel":"devices","epoch":"e1","offset":9,"recovered":true}`)
	tr.expect(t, "devices: subscribed>subscribing 1006", "connected>connecting 1006",
		"connecting>connected 0", "devices: subscribing>subscribed 0")

	h.c.Unsubscribe("devices", nil)
	tr.expect(t, "devices: subscribed>unsubscribed 0")
}

func TestStatesGetTokenUnauthorizedStops(t *testing.T) {
	calls := make(chan struct{}, 10)
	h, tr := newStateHarness(t, func(c *Config) {
		c.Token = ""
		c.GetToken = func() (string, error) {
			calls <- struct{}{}
			return "", &Error{Code: CodeUnauthorized, Message: "signed out"}
		}
	})
	errc := make(chan error, 1)
	h.c.Connect(func(err error) { errc <- err })
	err := <-errc
	var e *Error
	require.True(t, errors.As(err, &e))
	require.Equal(t, CodeUnauthorized, e.Code)
	tr.expect(t, "disconnected>connecting 0", "connecting>disconnected 4001")
	dis := h.ev.wait(t, kind(EvDisconnected))
	require.Equal(t, CodeUnauthorized, dis.Code)
	require.Contains(t, dis.Reason, "signed out")
	h.tr.noDial(t, 100*time.Millisecond)
	tr.none(t, 0)
	require.Len(t, calls, 1, "no retry")
}

func TestStatesGetTokenFailureRetries(t *testing.T) {
	n := 0
	h, tr := newStateHarness(t, func(c *Config) {
		c.Token = ""
		c.GetToken = func() (string, error) {
			n++ // GetToken calls are sequential
			if n == 1 {
				return "", errors.New("network down")
			}
			return "tok2", nil
		}
	})
	h.c.Connect(nil)
	h.handshake(t, "tok2")
	tr.expect(t, "disconnected>connecting 0", "connecting>connecting 0", "connecting>connected 0")
}
