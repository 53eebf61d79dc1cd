package bridge_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/auth"
	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/wire"
)

func adminPost(t *testing.T, url, token, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp
}

// apiToken grants every admin API operation and publish to user: and app:
// channels.
func apiToken(c *auth.Claims) { c.API, c.Pub = auth.APIOperations, []string{"user:*", "app:*"} }

func TestAdminPushToUserAndSignOut(t *testing.T) {
	b := bridgetest.Start(t, twoTenants)
	admin := b.Token(t, "backend", "acme", apiToken)
	// Alice on two devices (sessions), and bob.
	var alice []*bridgetest.Client
	for i := 0; i < 2; i++ {
		c := bridgetest.Dial(t, b.WSURL)
		c.Connect(b.Token(t, "alice", "acme"))
		c.MustCall("subscribe", wire.SubscribeParams{Channel: "user:alice"}, nil)
		alice = append(alice, c)
	}
	bob := bridgetest.Dial(t, b.WSURL)
	bob.Connect(b.Token(t, "bob", "acme"))
	_, rerr := bob.Call("subscribe", wire.SubscribeParams{Channel: "user:alice"})
	require.Equal(t, wire.CodeForbidden, rerr.Code, "a user channel is its user's only")

	resp := adminPost(t, b.HTTPURL+"/api/v1/publish", admin, `{"channel":"user:alice","data":{"note":"hello"}}`)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	for _, c := range alice {
		p, ok := c.NextMessage(5 * time.Second)
		require.True(t, ok)
		require.JSONEq(t, `{"note":"hello"}`, string(p.Data))
	}

	require.Equal(t, http.StatusUnauthorized, adminPost(t, b.HTTPURL+"/api/v1/signout", "", `{"user":"alice"}`).StatusCode)
	require.Equal(t, http.StatusForbidden, adminPost(t, b.HTTPURL+"/api/v1/signout", b.Token(t, "alice", "acme"), `{"user":"alice"}`).StatusCode)
	other := b.Token(t, "backend", "globex", apiToken)
	require.Equal(t, http.StatusOK, adminPost(t, b.HTTPURL+"/api/v1/signout", other, `{"user":"alice"}`).StatusCode)
	bob.MustCall("ping", nil, nil)
	alice[0].MustCall("ping", nil, nil) // another tenant's admin signed out nobody here

	require.Equal(t, http.StatusOK, adminPost(t, b.HTTPURL+"/api/v1/signout", admin, `{"user":"alice","reason":"password changed"}`).StatusCode)
	for _, c := range alice {
		f, ok := c.Next(5 * time.Second)
		require.True(t, ok)
		require.Equal(t, "disconnect", f.Method)
		require.JSONEq(t, `{"code":4003,"reason":"password changed","reconnect":false}`, string(f.Params))
		code, ok := c.WaitClosed(5 * time.Second)
		require.True(t, ok)
		require.Equal(t, wire.CloseSignedOut, code)
	}
	bob.MustCall("ping", nil, nil)
}

func scrape(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(body)
}

func TestAdminRevokeToken(t *testing.T) {
	b := bridgetest.Start(t, twoTenants)
	admin := b.Token(t, "backend", "acme", apiToken)
	withID := func(id string) func(*auth.Claims) { return func(c *auth.Claims) { c.ID = id } }
	stolen := b.Token(t, "alice", "acme", withID("t-1"))
	fresh := b.Token(t, "alice", "acme", withID("t-2"))

	c := bridgetest.Dial(t, b.WSURL)
	c.Connect(stolen)
	other := bridgetest.Dial(t, b.WSURL)
	other.Connect(fresh)

	// Another tenant's admin cannot revoke acme's token by its id.
	globex := b.Token(t, "backend", "globex", apiToken)
	require.Equal(t, http.StatusOK, adminPost(t, b.HTTPURL+"/api/v1/revoke", globex, `{"jti":"t-1"}`).StatusCode)
	c.MustCall("ping", nil, nil)

	require.Equal(t, http.StatusBadRequest, adminPost(t, b.HTTPURL+"/api/v1/revoke", admin, `{}`).StatusCode)
	require.Equal(t, http.StatusOK, adminPost(t, b.HTTPURL+"/api/v1/revoke", admin, `{"jti":"t-1","reason":"stolen"}`).StatusCode)
	code, ok := c.WaitClosed(5 * time.Second)
	require.True(t, ok)
	require.Equal(t, wire.CloseSignedOut, code, "the revoked token's session is closed 4003")
	other.MustCall("ping", nil, nil) // a different token of the same user is untouched

	again := bridgetest.Dial(t, b.WSURL)
	_, rerr := again.Call("connect", wire.ConnectParams{Token: stolen})
	require.NotNil(t, rerr)
	require.Equal(t, wire.CodeUnauthorized, rerr.Code, "a revoked token is refused at connect")
	_, rerr = other.Call("refresh", wire.RefreshParams{Token: stolen})
	require.NotNil(t, rerr)
	require.Equal(t, wire.CodeUnauthorized, rerr.Code, "and at refresh")
}

func TestAdminNodes(t *testing.T) {
	b := bridgetest.Start(t)
	admin := b.Token(t, "backend", "default", func(c *auth.Claims) { c.API = []string{auth.APINodes} })
	c := bridgetest.Dial(t, b.WSURL)
	c.Connect(b.Token(t, "alice", "default"))
	bridgetest.Eventually(t, 10*time.Second, func() error {
		req, _ := http.NewRequest(http.MethodGet, b.HTTPURL+"/api/v1/nodes", nil)
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if !strings.Contains(string(body), `"node":"test-node"`) || !strings.Contains(string(body), `"connections":1`) {
			return fmt.Errorf("%d %s", resp.StatusCode, body)
		}
		return nil
	})
	resp, err := http.Get(b.HTTPURL + "/readyz")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, "ready\npeers: 1\n", string(body))
}
