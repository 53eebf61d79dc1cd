package load

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/bridge/wire/protocol"
)

// serveWS runs a WebSocket server that hands each socket to serve, and
// returns its ws:// URL.
func serveWS(t *testing.T, serve func(c *websocket.Conn)) string {
	up := websocket.Upgrader{Subprotocols: []string{protocol.Subprotocol}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		serve(c)
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

// fakeBridge is a WebSocket server that answers connect and subscribe the
// way the bridge does (a notification first, to be skipped) and then sends
// the frames of script to each subscriber.
func fakeBridge(t *testing.T, script [][]byte) string {
	return serveWS(t, func(c *websocket.Conn) {
		for _, reply := range []string{
			`{"jsonrpc":"2.0","id":1,"result":{"session":"s_1","node":"n","user":"u","tenant":"default"}}`,
			`{"jsonrpc":"2.0","id":2,"result":{"channel":"device:lg-0","epoch":"e1","offset":10,"snapshot":[]}}`,
		} {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
			// An unrelated notification before the result: call skips it.
			_ = c.WriteMessage(websocket.TextMessage, []byte(`{"jsonrpc":"2.0","method":"lagged","params":{"channel":"other","offset":1}}`))
			_ = c.WriteMessage(websocket.TextMessage, []byte(reply))
		}
		for _, f := range script {
			_ = c.WriteMessage(websocket.TextMessage, f)
		}
		// Wait for the client's close.
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	})
}

// The whole receive path (connect, subscribe, a reader per socket,
// NextReader into a reused buffer, the fast frame scan) counts each
// delivery once: a repeated or reordered offset is a duplicate, a missing
// one is loss (expected minus received), a frame after the step's drain is
// late, and a lagged notification is counted. Frames of several sizes
// make the reused buffer grow and shrink between frames.
func TestReaderCountsLossDuplicatesAndOrder(t *testing.T) {
	msg := func(offset uint64, step int64, attr string) []byte {
		return frameOf(t, "device:lg-0", offset, step, int64(offset), 1000, attr)
	}
	script := [][]byte{
		msg(9, 1, "before the subscribe result's offset 10"), // duplicate: at or below the last offset
		msg(11, 1, ""),
		msg(12, 1, strings.Repeat("x", 3000)), // larger than the read buffer
		msg(12, 1, ""),                        // duplicate
		msg(14, 1, "13 is lost"),
		msg(13, 1, "reordered"), // below the last offset: a duplicate, not received
		[]byte(`{"jsonrpc":"2.0","method":"lagged","params":{"channel":"device:lg-0","offset":15}}`),
		msg(16, 2, "next step"),
		msg(17, 0, "priming, not counted"),
	}
	url := fakeBridge(t, script)
	f := newFleet(slog.New(slog.DiscardHandler), time.Now(), 3, 2)
	defer f.close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, f.connect(ctx, url, "token", dialers(2), 2, func(int) string { return "device:lg-0" }))
	for _, s := range f.subs {
		require.EqualValues(t, "device:lg-0", s.channel)
	}
	require.Eventually(t, func() bool { return f.steps[2].received.Load() == 3 }, 5*time.Second, time.Millisecond)

	one := f.steps[1]
	require.EqualValues(t, 3*3, one.received.Load(), "11, 12, 14 once per socket")
	require.EqualValues(t, 3*3, one.dups.Load(), "9, the second 12 and the reordered 13 per socket")
	require.EqualValues(t, 3*1, f.lagged.Load())
	require.Zero(t, f.badFrames.Load())
	require.Zero(t, f.disconnects.Load())
	expected := int64(3 * 4) // offsets 11..14 owed to each socket
	require.EqualValues(t, 3, expected-one.received.Load(), "offset 13 lost on each socket")
	require.EqualValues(t, 9, one.hist.count())
}

// A subscribe refused by the server fails the connect with its error.
func TestConnectFailsOnErrorResult(t *testing.T) {
	url := serveWS(t, func(c *websocket.Conn) {
		_, _, _ = c.ReadMessage()
		_ = c.WriteMessage(websocket.TextMessage, []byte(`{"jsonrpc":"2.0","id":1,"result":{}}`))
		_, _, _ = c.ReadMessage()
		b := responseOf(t, "2", nil, wire.NewError(wire.CodeForbidden, "not yours"))
		_ = c.WriteMessage(websocket.TextMessage, b)
		_, _, _ = c.ReadMessage()
	})
	f := newFleet(slog.New(slog.DiscardHandler), time.Now(), 4, 1)
	defer f.close()
	err := f.connect(context.Background(), url, "token", dialers(1), 2, func(int) string { return "device:x" })
	require.ErrorContains(t, err, "not yours")
}
