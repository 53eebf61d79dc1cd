package ws

import (
	"bufio"
	"context"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/stretchr/testify/require"
	"github.com/valyala/fasthttp"

	"github.com/mqlive/mqlive/bridge/hub"
	"github.com/mqlive/mqlive/bridge/state"
	"github.com/mqlive/mqlive/bridge/wire"
)

// browserUpgrade is a browser's upgrade request: its usual headers, a
// forwarded-for and cookies.
const browserUpgrade = "GET /ws?x=1 HTTP/1.1\r\n" +
	"Host: dash.example.com\r\n" +
	"Connection: Upgrade\r\n" +
	"Pragma: no-cache\r\n" +
	"Cache-Control: no-cache\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36\r\n" +
	"Upgrade: websocket\r\n" +
	"Origin: https://dash.example.com\r\n" +
	"Sec-WebSocket-Version: 13\r\n" +
	"Accept-Encoding: gzip, deflate, br, zstd\r\n" +
	"Accept-Language: en-US,en;q=0.9\r\n" +
	"Cookie: a=1; session=abcdef; theme=dark\r\n" +
	"X-Forwarded-For: 203.0.113.7\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
	"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" +
	"sec-websocket-protocol: mqlive.v1\r\n" +
	"\r\n"

func parseRequest(t *testing.T, raw string) *fasthttp.Request {
	t.Helper()
	var req fasthttp.Request
	require.NoError(t, req.Read(bufio.NewReader(strings.NewReader(raw))))
	return &req
}

// TestTrimForUpgradeKeepsWhatTheUpgradeReads: after trimming, a browser's
// upgrade has only the headers the upgrade reads, with their values, and
// no cookies; so contrib/websocket copies no others into the maps each
// socket keeps.
func TestTrimForUpgradeKeepsWhatTheUpgradeReads(t *testing.T) {
	req := parseRequest(t, browserUpgrade)
	trimForUpgrade(&req.Header)
	var left []string
	req.Header.VisitAll(func(k, v []byte) { left = append(left, string(k)+": "+string(v)) })
	sort.Strings(left)
	require.Equal(t, []string{
		"Connection: Upgrade",
		"Host: dash.example.com",
		"Origin: https://dash.example.com",
		"Sec-Websocket-Extensions: permessage-deflate; client_max_window_bits",
		"Sec-Websocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
		"Sec-Websocket-Protocol: mqlive.v1",
		"Sec-Websocket-Version: 13",
		"Upgrade: websocket",
	}, left)
	cookies := 0
	req.Header.VisitAllCookie(func(_, _ []byte) { cookies++ })
	require.Zero(t, cookies, "cookies left")
	require.Equal(t, "/ws", string(req.URI().Path()), "the request line is untouched")

	// A request with nothing to drop keeps everything.
	req = parseRequest(t, "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	trimForUpgrade(&req.Header)
	require.Equal(t, 3, req.Header.Len())
}

// TestAdmitTrimsWhatSocketsKeep: a socket upgraded from a browser keeps
// none of its request's other headers and cookies in the library's
// connection (admit trims them before contrib/websocket copies them), but
// the headers the upgrade read.
func TestAdmitTrimsWhatSocketsKeep(t *testing.T) {
	s, err := New("127.0.0.1:0", Config{Hub: hub.New(hub.Config{}), Store: state.NewMemory(state.Config{})})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() { cancel(); require.NoError(t, <-done) }()
	h := http.Header{
		"User-Agent":      {"Mozilla/5.0 (X11; Linux x86_64)"},
		"Accept-Language": {"en-US,en;q=0.9"},
		"Cookie":          {"a=1; session=abcdef"},
	}
	d := websocket.Dialer{Subprotocols: []string{wire.Subprotocol}}
	c, resp, err := d.Dial("ws://"+s.Addr()+"/ws", h)
	require.NoError(t, err)
	_ = resp.Body.Close()
	defer c.Close()
	// The socket's handler files it on the keep-alive wheel.
	var cn *conn
	require.Eventually(t, func() bool {
		s.keep.mu.Lock()
		defer s.keep.mu.Unlock()
		for _, first := range s.keep.slots {
			if first != nil {
				cn = first
				return true
			}
		}
		return false
	}, 5*time.Second, 10*time.Millisecond)
	require.Empty(t, cn.ws.Headers("User-Agent"))
	require.Empty(t, cn.ws.Headers("Accept-Language"))
	require.Empty(t, cn.ws.Headers("Cookie"))
	require.Empty(t, cn.ws.Cookies("session"))
	require.Equal(t, wire.Subprotocol, cn.ws.Headers("Sec-Websocket-Protocol"), "the upgrade's own headers stay")
}
