package ws_test

import (
	"net/http"
	"testing"

	"github.com/fasthttp/websocket"
	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/bridge/ws"
)

// TestOriginsStillChecked: the upgrade's origin check still sees Origin
// once admit has trimmed the request's headers (trimForUpgrade): an
// allowed origin is upgraded, another is refused (contrib/websocket
// answers any refused upgrade with 426).
func TestOriginsStillChecked(t *testing.T) {
	ls := startLimits(t, ws.Config{AllowedOrigins: []string{"https://dash.example.com"}})
	d := websocket.Dialer{Subprotocols: []string{wire.Subprotocol}}
	dial := func(origin string) (*websocket.Conn, int) {
		h := http.Header{"Origin": {origin}, "User-Agent": {"test"}, "Cookie": {"a=1; b=2"}}
		c, resp, err := d.Dial(ls.url, h)
		if resp != nil {
			_ = resp.Body.Close()
		}
		if err != nil {
			require.NotNil(t, resp, "%v", err)
			return nil, resp.StatusCode
		}
		t.Cleanup(func() { _ = c.Close() })
		return c, resp.StatusCode
	}
	c, status := dial("https://dash.example.com")
	require.Equal(t, http.StatusSwitchingProtocols, status)
	require.Equal(t, wire.Subprotocol, c.Subprotocol(), "the subprotocol header reached the upgrade")
	_, status = dial("https://evil.example")
	require.Equal(t, http.StatusUpgradeRequired, status)
}
