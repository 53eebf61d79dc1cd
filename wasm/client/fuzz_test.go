//go:build !js

package client

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// FuzzServerFrames feeds arbitrary frames from the server to a connected
// client with a subscription: it must neither panic nor stall its actor.
func FuzzServerFrames(f *testing.F) {
	for _, seed := range []string{
		`{"jsonrpc":"2.0","method":"message","params":{"channel":"devices","epoch":"e","offset":1,"data":{"device":"a","metrics":{"t":1}}}}`,
		`{"jsonrpc":"2.0","method":"message","params":{"channel":"devices","data":{"device":"a","metrics":{"t":"x","u":true},"ts":"bad","attrs":{"m":1}}}}`,
		`{"jsonrpc":"2.0","method":"lagged","params":{"channel":"devices","offset":"x"}}`,
		`{"jsonrpc":"2.0","method":"disconnect","params":{"code":1001,"reason":"drain"}}`,
		`{"jsonrpc":"2.0","id":3,"result":{"channel":"devices","recovered":false,"snapshot":[null,1,{"device":""},{"device":"b"}]}}`,
		`{"jsonrpc":"2.0","id":99,"error":{"code":"x"}}`,
		`{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}}`,
		`[1,2]`, `null`, `"text"`, `{`, ``,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, frame string) {
		h := newHarness(t, nil)
		h.c.Connect(nil)
		conn := h.handshake(t, "tok1")
		h.c.Subscribe("devices", SubscribeOptions{}, nil)
		require.Equal(t, "subscribe", str(conn.next(t), "method"))
		conn.h.Message(frame)
		// The actor still answers: a ping goes out on this connection or,
		// if the frame ended it, the client redials.
		r := newResult()
		h.c.Ping(r.done)
		select {
		case f := <-conn.sent:
			v, err := StdCodec{}.Parse(f)
			require.NoError(t, err)
			if str(v, "method") == "subscribe" { // a lagged re-sync
				break
			}
			require.Equal(t, "ping", str(v, "method"))
		case c := <-h.tr.dials:
			require.NotNil(t, c)
		case <-r.ch:
		case <-time.After(waitFor):
			t.Fatal("the client stalled")
		}
	})
}
