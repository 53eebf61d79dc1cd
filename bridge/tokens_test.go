package bridge_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/auth"
	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/wire"
)

// connectErr dials url and connects with token, expecting an error.
func connectErr(t *testing.T, url, token string) *wire.Error {
	t.Helper()
	c := bridgetest.Dial(t, url)
	_, rerr := c.Call(wire.MethodConnect, wire.ConnectParams{Token: token})
	return rerr
}

// freshToken waits until a token of user issued now is accepted (a
// sign-out refuses the tokens of its own second) and returns the client
// connected with it.
func freshToken(t *testing.T, url, user, tenant string, mutate ...func(*auth.Claims)) (*bridgetest.Client, string) {
	t.Helper()
	var c *bridgetest.Client
	var tok string
	bridgetest.Eventually(t, 5*time.Second, func() error {
		tok = bridgetest.Token(t, user, tenant, mutate...)
		c = bridgetest.Dial(t, url)
		if _, rerr := c.Call(wire.MethodConnect, wire.ConnectParams{Token: tok}); rerr != nil {
			return errors.New(rerr.Message)
		}
		return nil
	})
	return c, tok
}

// TestSignOutRefusesTheToken: after /api/v1/signout, the user's token is
// refused at connect and at refresh (4001 with a clear message); a token
// issued after the sign-out works, and other users are untouched.
func TestSignOutRefusesTheToken(t *testing.T) {
	b := bridgetest.Start(t, twoTenants)
	admin := b.Token(t, "backend", "acme", apiToken)
	old := b.Token(t, "alice", "acme")
	alice := bridgetest.Dial(t, b.WSURL)
	alice.Connect(old)
	bobTok := b.Token(t, "bob", "acme")
	bob := bridgetest.Dial(t, b.WSURL)
	bob.Connect(bobTok)
	globexAlice := b.Token(t, "alice", "globex")

	require.Equal(t, http.StatusOK, adminPost(t, b.HTTPURL+"/api/v1/signout", admin, `{"user":"alice"}`).StatusCode)
	code, ok := alice.WaitClosed(5 * time.Second)
	require.True(t, ok)
	require.Equal(t, wire.CloseSignedOut, code)

	rerr := connectErr(t, b.WSURL, old)
	require.NotNil(t, rerr, "the signed-out token reconnects")
	require.Equal(t, wire.CodeUnauthorized, rerr.Code)
	require.Contains(t, rerr.Message, "signed out")

	require.Nil(t, connectErr(t, b.WSURL, bobTok), "another user of the tenant is untouched")
	require.Nil(t, connectErr(t, b.WSURL, globexAlice), "the same user name in another tenant is untouched")

	fresh, _ := freshToken(t, b.WSURL, "alice", "acme")
	_, rerr = fresh.Call(wire.MethodRefresh, wire.RefreshParams{Token: old})
	require.NotNil(t, rerr, "refresh with the signed-out token")
	require.Equal(t, wire.CodeUnauthorized, rerr.Code)
	require.Contains(t, rerr.Message, "signed out")
	fresh.MustCall(wire.MethodPing, nil, nil)
	bob.MustCall(wire.MethodPing, nil, nil)
}

// TestTokenLifetimeCap: the default config refuses tokens living longer
// than 24 h and tokens without iat.
func TestTokenLifetimeCap(t *testing.T) {
	b := bridgetest.Start(t)
	long := b.Token(t, "alice", "default", func(c *auth.Claims) {
		c.ExpiresAt = jwt.NewNumericDate(c.IssuedAt.Add(25 * time.Hour))
	})
	rerr := connectErr(t, b.WSURL, long)
	require.NotNil(t, rerr)
	require.Equal(t, wire.CodeUnauthorized, rerr.Code)
	noIat := b.Token(t, "alice", "default", func(c *auth.Claims) { c.IssuedAt = nil })
	rerr = connectErr(t, b.WSURL, noIat)
	require.NotNil(t, rerr)
	require.Equal(t, wire.CodeUnauthorized, rerr.Code)
	ok := b.Token(t, "alice", "default", func(c *auth.Claims) {
		c.ExpiresAt = jwt.NewNumericDate(c.IssuedAt.Add(24 * time.Hour))
	})
	require.Nil(t, connectErr(t, b.WSURL, ok))
}

func adminGet(t *testing.T, url, token string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// TestAdminAPIScopes: the admin claim opens the monitor channel but no
// admin API call; each call needs its operation in the api claim, and
// admin publish checks pub like a WebSocket publish.
func TestAdminAPIScopes(t *testing.T) {
	b := bridgetest.Start(t, twoTenants)
	monitorOnly := b.Token(t, "ops", "acme", func(c *auth.Claims) { c.Admin = true; c.Pub = []string{"*"} })
	for _, path := range []string{"publish", "signout", "revoke"} {
		require.Equal(t, http.StatusForbidden, adminPost(t, b.HTTPURL+"/api/v1/"+path, monitorOnly, `{"user":"alice","jti":"x","channel":"app:x","data":1}`).StatusCode, path)
	}
	require.Equal(t, http.StatusForbidden, adminGet(t, b.HTTPURL+"/api/v1/nodes", monitorOnly))

	pushOnly := b.Token(t, "backend", "acme", func(c *auth.Claims) { c.API = []string{auth.APIPublish}; c.Pub = []string{"user:alice"} })
	require.Equal(t, http.StatusForbidden, adminPost(t, b.HTTPURL+"/api/v1/signout", pushOnly, `{"user":"alice"}`).StatusCode)
	require.Equal(t, http.StatusForbidden, adminGet(t, b.HTTPURL+"/api/v1/nodes", pushOnly))
	require.Equal(t, http.StatusOK, adminPost(t, b.HTTPURL+"/api/v1/publish", pushOnly, `{"channel":"user:alice","data":1}`).StatusCode)
	require.Equal(t, http.StatusForbidden, adminPost(t, b.HTTPURL+"/api/v1/publish", pushOnly, `{"channel":"user:bob","data":1}`).StatusCode,
		"admin publish checks pub")
	noPub := b.Token(t, "backend", "acme", func(c *auth.Claims) { c.API = []string{auth.APIPublish} })
	require.Equal(t, http.StatusForbidden, adminPost(t, b.HTTPURL+"/api/v1/publish", noPub, `{"channel":"app:x","data":1}`).StatusCode)

	// An API token is refused after its user's sign-out, like a dashboard's.
	full := b.Token(t, "backend", "acme", apiToken)
	require.Equal(t, http.StatusOK, adminPost(t, b.HTTPURL+"/api/v1/signout", full, `{"user":"backend"}`).StatusCode)
	require.Equal(t, http.StatusUnauthorized, adminGet(t, b.HTTPURL+"/api/v1/nodes", full))
}

// TestRefreshEndsSubscriptionsTheNewTokenRefuses: a refresh whose token no
// longer allows a channel ends that subscription with an `unsubscribed`
// notification before the result, and nothing of it is delivered after.
func TestRefreshEndsSubscriptionsTheNewTokenRefuses(t *testing.T) {
	b := bridgetest.Start(t)
	admin := b.Token(t, "backend", "default", apiToken)
	c := bridgetest.Dial(t, b.WSURL)
	c.Connect(b.Token(t, "alice", "default", func(cl *auth.Claims) { cl.Chan = []string{"user:alice", "app:*"} }))
	c.MustCall(wire.MethodSubscribe, wire.SubscribeParams{Channel: "user:alice"}, nil)
	c.MustCall(wire.MethodSubscribe, wire.SubscribeParams{Channel: "app:news"}, nil)

	narrower := b.Token(t, "alice", "default", func(cl *auth.Claims) { cl.Chan = []string{"user:alice"} })
	id := c.Request(wire.MethodRefresh, wire.RefreshParams{Token: narrower})
	f, ok := c.Next(5 * time.Second)
	require.True(t, ok)
	require.Equal(t, "unsubscribed", f.Method, "the notification comes before the refresh result: %s", f.Raw)
	require.JSONEq(t, `{"channel":"app:news","reason":"permission"}`, string(f.Params))
	res := c.WaitResponse(id, 5*time.Second)
	require.Nil(t, res.Error)

	for _, ch := range []string{"app:news", "user:alice"} {
		require.Equal(t, http.StatusOK, adminPost(t, b.HTTPURL+"/api/v1/publish", admin, fmt.Sprintf(`{"channel":%q,"data":{"ch":%q}}`, ch, ch)).StatusCode)
	}
	// Publications of one node are delivered in order: user:alice after
	// app:news, so app:news would have arrived first.
	p, ok := c.NextMessage(5 * time.Second)
	require.True(t, ok)
	require.Equal(t, "user:alice", p.Channel, "nothing of the ended channel is delivered")
	for _, f := range c.Buffered() {
		require.NotContains(t, string(f.Raw), "app:news", "frame after the refresh")
	}
	_, rerr := c.Call(wire.MethodSubscribe, wire.SubscribeParams{Channel: "app:news"})
	require.NotNil(t, rerr)
	require.Equal(t, wire.CodeForbidden, rerr.Code)

	// A refresh that allows everything ends nothing.
	id = c.Request(wire.MethodRefresh, wire.RefreshParams{Token: b.Token(t, "alice", "default")})
	res = c.WaitResponse(id, 5*time.Second)
	require.Nil(t, res.Error)
	for _, f := range c.Buffered() {
		require.NotEqual(t, "unsubscribed", f.Method)
	}
	var raw json.RawMessage
	c.MustCall(wire.MethodPing, nil, &raw)
}

// TestCanonicalChannelNames: permissions are matched on the canonical
// channel name; an alternative escaping is refused as invalid, and a
// segment pattern does not leak to a longer device id.
func TestCanonicalChannelNames(t *testing.T) {
	b := bridgetest.Start(t)
	c := bridgetest.Dial(t, b.WSURL)
	c.Connect(b.Token(t, "alice", "default", func(cl *auth.Claims) { cl.Chan = []string{"device:kitchen/*", "device:hall*"} }))
	_, rerr := c.Call(wire.MethodSubscribe, wire.SubscribeParams{Channel: "device:%6Bitchen/x"})
	require.NotNil(t, rerr)
	require.Equal(t, wire.CodeInvalidParams, rerr.Code)
	require.Contains(t, rerr.Message, "device:kitchen/x")
	c.MustCall(wire.MethodSubscribe, wire.SubscribeParams{Channel: "device:kitchen/x"}, nil)
	_, rerr = c.Call(wire.MethodSubscribe, wire.SubscribeParams{Channel: "device:kitchen_freezer"})
	require.NotNil(t, rerr)
	require.Equal(t, wire.CodeForbidden, rerr.Code, "kitchen/* is segment-aware")
	c.MustCall(wire.MethodSubscribe, wire.SubscribeParams{Channel: "device:hallway"}, nil) // hall* is a prefix, by choice
}
