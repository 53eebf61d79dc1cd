package bridge_test

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/auth"
	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/wire"
)

func TestTenantIsolation(t *testing.T) {
	b := bridgetest.Start(t, twoTenants)
	a := bridgetest.Dial(t, b.WSURL)
	a.Connect(b.Token(t, "alice", "acme"))
	g := bridgetest.Dial(t, b.WSURL)
	g.Connect(b.Token(t, "bob", "globex"))
	for _, c := range []*bridgetest.Client{a, g} {
		c.MustCall("subscribe", wire.SubscribeParams{Channel: "devices"}, nil)
		c.MustCall("subscribe", wire.SubscribeParams{Channel: "device:shared-name"}, nil)
	}
	// Same device name in both tenants: each sees only its own.
	b.Publish(t, "acme/zigbee2mqtt/shared-name", []byte(`{"temperature":1}`))
	b.Publish(t, "globex/zigbee2mqtt/shared-name", []byte(`{"temperature":2}`))
	_, r := nextReading(t, a, "devices")
	require.Equal(t, 1.0, r.Metrics["temperature"])
	_, r = nextReading(t, a, "device:shared-name")
	require.Equal(t, 1.0, r.Metrics["temperature"])
	_, r = nextReading(t, g, "devices")
	require.Equal(t, 2.0, r.Metrics["temperature"])
	_, r = nextReading(t, g, "device:shared-name")
	require.Equal(t, 2.0, r.Metrics["temperature"])
	_, ok := g.NextMessage(200 * time.Millisecond)
	require.False(t, ok, "globex must not see acme's reading")

	// Snapshots are tenant-scoped too.
	g2 := bridgetest.Dial(t, b.WSURL)
	g2.Connect(b.Token(t, "bob", "globex"))
	var res wire.SubscribeResult
	g2.MustCall("subscribe", wire.SubscribeParams{Channel: "devices"}, &res)
	require.Len(t, res.Snapshot, 1)
	require.Contains(t, string(res.Snapshot[0]), `"temperature":2`)

	// A token limited by chan: other channels are 4003, and the socket stays open.
	lim := bridgetest.Dial(t, b.WSURL)
	lim.Connect(b.Token(t, "carol", "acme", func(c *auth.Claims) { c.Chan = []string{"device:shared-*"} }))
	lim.MustCall("subscribe", wire.SubscribeParams{Channel: "device:shared-name"}, nil)
	for _, ch := range []string{"devices", "device:other", "monitor", "user:alice", "app:x"} {
		_, rerr := lim.Call("subscribe", wire.SubscribeParams{Channel: ch})
		require.NotNil(t, rerr, ch)
		require.Equal(t, wire.CodeForbidden, rerr.Code, ch)
	}
	lim.MustCall("ping", nil, nil)

	// Publishing needs pub; commanding needs cmd.
	_, rerr := a.Call("publish", wire.PublishParams{Channel: "app:chat", Data: []byte(`{"x":1}`)})
	require.Equal(t, wire.CodeForbidden, rerr.Code)
	_, rerr = a.Call("command", wire.CommandParams{Device: "shared-name", Name: "state", Args: []byte(`"ON"`)})
	require.Equal(t, wire.CodeForbidden, rerr.Code)
}

func TestPublishPresenceUserChannel(t *testing.T) {
	b := bridgetest.Start(t)
	pubTok := b.Token(t, "alice", "default", func(c *auth.Claims) { c.Pub = []string{"app:*"}; c.Chan = []string{"app:*", "devices"} })
	a := bridgetest.Dial(t, b.WSURL)
	res := a.Connect(pubTok)
	a.MustCall("subscribe", wire.SubscribeParams{Channel: "app:chat"}, nil)
	var pr wire.PublishResult
	a.MustCall("publish", wire.PublishParams{Channel: "app:chat", Data: []byte(`{ "text" : "hi" }`)}, &pr)
	require.Equal(t, uint64(1), pr.Offset)
	p, ok := a.NextMessage(5 * time.Second)
	require.True(t, ok)
	require.JSONEq(t, `{"text":"hi"}`, string(p.Data))
	_, rerr := a.Call("publish", wire.PublishParams{Channel: "devices", Data: []byte(`{}`)})
	require.Equal(t, wire.CodeForbidden, rerr.Code, "device channels only carry what devices said")

	var pres wire.PresenceResult
	a.MustCall("presence", wire.ChannelParams{Channel: "app:chat"}, &pres)
	require.Len(t, pres.Clients, 1)
	require.Equal(t, "alice", pres.Clients[0].User)
	require.Equal(t, res.Session, pres.Clients[0].Session)
	require.Equal(t, "test-node", pres.Clients[0].Node)

	a.MustCall("unsubscribe", wire.ChannelParams{Channel: "app:chat"}, nil)
	a.MustCall("presence", wire.ChannelParams{Channel: "app:chat"}, &pres)
	require.Empty(t, pres.Clients)

	var rr wire.RefreshResult
	a.MustCall("refresh", wire.RefreshParams{Token: b.Token(t, "alice", "default")}, &rr)
	require.True(t, rr.ExpiresAt.After(time.Now()))
	_, rerr = a.Call("refresh", wire.RefreshParams{Token: b.Token(t, "mallory", "default")})
	require.Equal(t, wire.CodeForbidden, rerr.Code)
}

func noneToken(t *testing.T) string {
	t.Helper()
	enc := base64.RawURLEncoding
	claims := `{"sub":"eve","tenant":"acme","exp":` + strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10) + `,"admin":true}`
	return enc.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + enc.EncodeToString([]byte(claims)) + "."
}

func TestProtocolErrors(t *testing.T) {
	b := bridgetest.Start(t, twoTenants)

	expectClose := func(t *testing.T, c *bridgetest.Client, code int) {
		t.Helper()
		got, ok := c.WaitClosed(5 * time.Second)
		require.True(t, ok, "connection not closed")
		require.Equal(t, code, got)
	}
	connectFails := func(t *testing.T, token string, code int) {
		t.Helper()
		c := bridgetest.Dial(t, b.WSURL)
		_, rerr := c.Call("connect", wire.ConnectParams{Token: token})
		require.NotNil(t, rerr)
		require.Equal(t, code, rerr.Code)
		expectClose(t, c, code)
	}

	t.Run("bad token", func(t *testing.T) { connectFails(t, "not.a.jwt", wire.CodeUnauthorized) })
	t.Run("wrong secret", func(t *testing.T) {
		c := auth.Claims{Tenant: "acme"}
		c.Subject = "eve"
		c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(time.Hour))
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		tok, err := auth.NewHMACSigner(key).Sign(c)
		require.NoError(t, err)
		connectFails(t, tok, wire.CodeUnauthorized)
	})
	t.Run("alg none", func(t *testing.T) { connectFails(t, noneToken(t), wire.CodeUnauthorized) })
	t.Run("expired token", func(t *testing.T) {
		connectFails(t, b.Token(t, "alice", "acme", func(c *auth.Claims) {
			c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Minute))
		}), wire.CodeTokenExpired)
	})
	t.Run("request before connect", func(t *testing.T) {
		c := bridgetest.Dial(t, b.WSURL)
		_, rerr := c.Call("subscribe", wire.SubscribeParams{Channel: "devices"})
		require.Equal(t, wire.CodeUnauthorized, rerr.Code)
		expectClose(t, c, wire.CloseUnauthorized)
	})
	t.Run("second connect", func(t *testing.T) {
		c := bridgetest.Dial(t, b.WSURL)
		c.Connect(b.Token(t, "alice", "acme"))
		_, rerr := c.Call("connect", wire.ConnectParams{Token: b.Token(t, "alice", "acme")})
		require.Equal(t, wire.CodeInvalidRequest, rerr.Code)
	})

	c := bridgetest.Dial(t, b.WSURL)
	c.Connect(b.Token(t, "alice", "acme"))
	t.Run("unparsable JSON keeps the connection", func(t *testing.T) {
		c.SendRaw([]byte(`{"jsonrpc":"2.0","id":7,"method":`))
		f, ok := c.Next(5 * time.Second)
		require.True(t, ok)
		require.Equal(t, wire.CodeParseError, f.Error.Code)
		require.Equal(t, "null", string(f.ID))
		c.MustCall("ping", nil, nil)
	})
	t.Run("not a request", func(t *testing.T) {
		for _, frame := range []string{`[1,2]`, `{"jsonrpc":"2.0","method":"ping"}`, `{"jsonrpc":"1.0","id":1,"method":"ping"}`, `{"jsonrpc":"2.0","id":{},"method":"ping"}`} {
			c.SendRaw([]byte(frame))
			f, ok := c.Next(5 * time.Second)
			require.True(t, ok)
			require.Equal(t, wire.CodeInvalidRequest, f.Error.Code, frame)
		}
	})
	t.Run("unknown method", func(t *testing.T) {
		_, rerr := c.Call("teleport", nil)
		require.Equal(t, wire.CodeMethodNotFound, rerr.Code)
	})
	t.Run("invalid params", func(t *testing.T) {
		_, rerr := c.Call("subscribe", map[string]any{"channel": "devices", "bogus": 1})
		require.Equal(t, wire.CodeInvalidParams, rerr.Code)
		_, rerr = c.Call("subscribe", map[string]any{"channel": "devices", "mode": "fast"})
		require.Equal(t, wire.CodeInvalidParams, rerr.Code)
	})
	t.Run("invalid channel name", func(t *testing.T) {
		for _, ch := range []string{"", "device:a b", "devices#", "tag:nokv", "nosuchkind:x", strings.Repeat("x", 201), "device:\x00", "dev+ices"} {
			_, rerr := c.Call("subscribe", wire.SubscribeParams{Channel: ch})
			require.NotNil(t, rerr, "%q", ch)
			require.Equal(t, wire.CodeInvalidParams, rerr.Code, "%q", ch)
		}
		c.MustCall("ping", nil, nil)
	})
	t.Run("100 KiB frame closes 1009", func(t *testing.T) {
		big := bridgetest.Dial(t, b.WSURL)
		big.Connect(b.Token(t, "alice", "acme"))
		// The server may close before the client has written the whole
		// frame, so the write itself may fail; the close code is what counts.
		_ = big.Conn.WriteMessage(websocket.TextMessage, []byte(`{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"`+strings.Repeat("x", 100<<10)+`"}}`))
		expectClose(t, big, wire.CloseTooBig)
	})
	t.Run("subprotocol", func(t *testing.T) {
		_, err := bridgetest.DialProtocols(t, b.WSURL, []string{"mqtt"})
		require.ErrorContains(t, err, "HTTP 400")
		ok, err := bridgetest.DialProtocols(t, b.WSURL, nil)
		require.NoError(t, err, "a client that offers no subprotocol is accepted")
		ok.Close()
		withIt, err := bridgetest.DialProtocols(t, b.WSURL, []string{"other", wire.Subprotocol})
		require.NoError(t, err)
		require.Equal(t, wire.Subprotocol, withIt.Conn.Subprotocol())
	})
	t.Run("plain HTTP on /ws", func(t *testing.T) {
		resp, err := http.Get(b.HTTPURL + "/ws")
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusUpgradeRequired, resp.StatusCode)
	})
	t.Run("token expiry closes 4010", func(t *testing.T) {
		e := bridgetest.Dial(t, b.WSURL)
		e.Connect(b.Token(t, "alice", "acme", func(c *auth.Claims) {
			c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(1500 * time.Millisecond))
		}))
		f, ok := e.Next(5 * time.Second)
		require.True(t, ok)
		require.Equal(t, "disconnect", f.Method)
		require.JSONEq(t, `{"code":4010,"reason":"token expired","reconnect":true}`, string(f.Params))
		expectClose(t, e, wire.CloseTokenExpired)
	})
}
