package hub

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/state"
	"github.com/mqlive/mqlive/bridge/wire"
)

// bigResponse is a response of about n bytes.
func bigResponse(id, n int) []byte {
	r := string(response(id))
	return []byte(r[:len(r)-1] + `,"pad":"` + strings.Repeat("x", n) + `"}`)
}

func TestRepliesPastTheBoundClose4009(t *testing.T) {
	h, m := newHub(Config{MaxQueuedReplyBytes: 1000})
	s := session(t, h, "s1", "acme")
	subscribe(t, h, s, "devices", SubOptions{})
	h.Deliver("acme", pub("devices", 1, `{}`))
	total := 0
	for i := 1; ; i++ {
		f := bigResponse(i, 100)
		s.Send(f)
		if s.Closing() {
			break
		}
		total += len(f)
		require.Equal(t, total, s.QueuedReplyBytes())
		require.LessOrEqual(t, total, 1000, "the session closes once replies pass the bound")
	}
	require.Zero(t, s.QueuedReplyBytes(), "the queued replies are freed at the close")
	require.Equal(t, 1.0, testutil.ToFloat64(m.SlowConsumers))
	require.Equal(t, []string{"disconnect 4009", "close 4009"}, describe(t, ready(t, s)),
		"nothing queued for a client that does not read is still sent")
	s.Send(response(99))
	require.Empty(t, ready(t, s), "replies after the close go nowhere")
}

func TestWriterTakingRepliesResetsTheBound(t *testing.T) {
	h, _ := newHub(Config{MaxQueuedReplyBytes: 1000})
	s := session(t, h, "s1", "acme")
	for i := 0; i < 50; i++ {
		s.Send(bigResponse(i, 300))
		require.Len(t, ready(t, s), 1, "a client that reads is never closed")
		require.Zero(t, s.QueuedReplyBytes())
	}
	require.False(t, s.Closing())
}

func TestOneOversizedReplyAloneIsQueued(t *testing.T) {
	h, _ := newHub(Config{MaxQueuedReplyBytes: 1000})
	s := session(t, h, "s1", "acme")
	big := bigResponse(1, 5000)
	s.Send(big)
	require.False(t, s.Closing(), "a snapshot larger than the bound still reaches a client that reads")
	require.Equal(t, len(big), s.QueuedReplyBytes())
	s.Send(response(2))
	code, closing := s.CloseCode()
	require.True(t, closing, "but nothing more waits behind it")
	require.Equal(t, wire.CloseTooSlow, code)
}

func TestRecoveredPublicationsAndResultCount(t *testing.T) {
	h, m := newHub(Config{MaxQueuedReplyBytes: 4000})
	s := session(t, h, "s1", "acme")
	s.Send(bigResponse(1, 100))
	// A subscribe result (a snapshot) and recovered publications are
	// replies too: together they pass the bound.
	sub, err := h.Subscribe(context.Background(), s, "devices", SubOptions{})
	require.NoError(t, err)
	var recovered []*state.Publication
	for i := uint64(1); i <= 20; i++ {
		recovered = append(recovered, pub("devices", i, `{"pad":"`+strings.Repeat("y", 100)+`"}`))
	}
	s.Recover(sub, recovered, wire.StreamPosition{Epoch: "e1", Offset: 20}, bigResponse(2, 2000))
	code, closing := s.CloseCode()
	require.True(t, closing)
	require.Equal(t, wire.CloseTooSlow, code)
	require.Equal(t, 1.0, testutil.ToFloat64(m.SlowConsumers))
	require.Equal(t, []string{"disconnect 4009", "close 4009"}, describe(t, ready(t, s)))
}

func TestDroppedRepliesLeaveTheCount(t *testing.T) {
	h, _ := newHub(Config{QueueSize: 2})
	s := session(t, h, "s1", "acme")
	sub, err := h.Subscribe(context.Background(), s, "devices", SubOptions{})
	require.NoError(t, err)
	s.Recover(sub, []*state.Publication{pub("devices", 1, `{}`), pub("devices", 2, `{}`)},
		wire.StreamPosition{Epoch: "e1", Offset: 2}, response(1))
	resp := len(response(1))
	require.Greater(t, s.QueuedReplyBytes(), resp)
	// A re-sync drops what was recovered for the old subscription.
	sub2, err := h.Subscribe(context.Background(), s, "devices", SubOptions{})
	require.NoError(t, err)
	require.Equal(t, resp, s.QueuedReplyBytes(), "only the result, which is not the channel's, remains")
	s.Recover(sub2, nil, wire.StreamPosition{Epoch: "e1", Offset: 2}, nil)
	// Overflow queues a lagged notice, which counts.
	for i := uint64(3); i <= 6; i++ {
		h.Deliver("acme", pub("devices", i, `{}`))
	}
	require.Greater(t, s.QueuedReplyBytes(), resp)
	h.Unsubscribe(s, "devices")
	require.Equal(t, resp, s.QueuedReplyBytes(), "an unsubscribe drops the channel's lagged notice")
	require.Equal(t, []string{"resp 1"}, describe(t, ready(t, s)))
	require.Zero(t, s.QueuedReplyBytes())
}
