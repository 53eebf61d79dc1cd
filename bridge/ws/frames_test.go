package ws_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/auth"
	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/bridge/ws"
)

// TestFrameBuffersAreNotKept: the reader reuses one buffer for frame
// after frame, so nothing may keep a frame's bytes once it is answered.
// Publications sent back to back (each read into the buffer the last one
// left) keep their own data, their ids and their channels.
func TestFrameBuffersAreNotKept(t *testing.T) {
	ls := startLimits(t, ws.Config{RequestRate: 10000, RequestBurst: 10000})
	c := bridgetest.Dial(t, ls.url)
	c.Connect(bridgetest.Token(t, "alice", "acme", func(cl *auth.Claims) { cl.Pub = []string{"app:*"}; cl.Chan = []string{"app:*"} }))
	const n = 50
	ids := make([]string, n)
	for i := range n {
		// Frames of one length, so each lands where the last one was.
		ids[i] = c.Request(wire.MethodPublish, wire.PublishParams{Channel: fmt.Sprintf("app:c%02d", i%7),
			Data: json.RawMessage(fmt.Sprintf(`{"n":"%02d","pad":"%s"}`, i, strings.Repeat(string(rune('a'+i%26)), 40)))})
	}
	for i := range n {
		f := c.WaitResponse(ids[i], 5*time.Second)
		require.Nil(t, f.Error, "publish %d", i)
	}
	for ch := range 7 {
		var page wire.HistoryResult
		c.MustCall(wire.MethodHistory, wire.HistoryParams{Channel: fmt.Sprintf("app:c%02d", ch)}, &page)
		require.NotEmpty(t, page.Publications)
		for j, p := range page.Publications {
			i := ch + 7*j
			require.Equal(t, fmt.Sprintf("app:c%02d", ch), p.Channel)
			require.JSONEq(t, fmt.Sprintf(`{"n":"%02d","pad":"%s"}`, i, strings.Repeat(string(rune('a'+i%26)), 40)), string(p.Data), "publication %d", i)
		}
	}
}
