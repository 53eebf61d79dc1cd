package bridge_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge"
	"github.com/mqlive/mqlive/bridge/bridgetest"
)

const metricsToken = "metrics-token-0123456789"

// get fetches url with an optional bearer token.
func get(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

// TestMetricsOwnListener: with http.metrics_addr, /metrics is served there
// only, and with http.metrics_token only to the bearer of the token.
func TestMetricsOwnListener(t *testing.T) {
	b := bridgetest.Start(t, twoTenants, func(c *bridge.Config) {
		c.HTTP.MetricsAddr = "127.0.0.1:0"
		c.HTTP.MetricsToken = metricsToken
	})
	require.NotEmpty(t, b.MetricsAddr())
	require.NotEqual(t, b.HTTPAddr(), b.MetricsAddr())

	code, body := get(t, b.HTTPURL+"/metrics", metricsToken)
	require.Equal(t, http.StatusNotFound, code, "not on the public port: %.200s", body)
	require.NotContains(t, body, "mqlive_")

	url := "http://" + b.MetricsAddr() + "/metrics"
	code, body = get(t, url, "")
	require.Equal(t, http.StatusUnauthorized, code)
	require.NotContains(t, body, "mqlive_")
	code, _ = get(t, url, "wrong-token-0123456789")
	require.Equal(t, http.StatusUnauthorized, code)
	code, body = get(t, url, metricsToken)
	require.Equal(t, http.StatusOK, code)
	require.True(t, strings.Contains(body, "mqlive_"), "%.200s", body)
}

// TestMetricsToken: a token alone guards /metrics on the public port; the
// default (neither set) keeps /metrics open there, as before.
func TestMetricsToken(t *testing.T) {
	b := bridgetest.Start(t, twoTenants, func(c *bridge.Config) { c.HTTP.MetricsToken = metricsToken })
	require.Empty(t, b.MetricsAddr())
	code, body := get(t, b.HTTPURL+"/metrics", "")
	require.Equal(t, http.StatusUnauthorized, code)
	require.NotContains(t, body, "acme")
	code, body = get(t, b.HTTPURL+"/metrics", metricsToken)
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "mqlive_")

	open := bridgetest.Start(t, twoTenants)
	code, body = get(t, open.HTTPURL+"/metrics", "")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "mqlive_")
}

// TestPprofOwnListener: http.pprof_addr serves the profiler on its own
// loopback listener and nowhere else; it is off by default.
func TestPprofOwnListener(t *testing.T) {
	b := bridgetest.Start(t, twoTenants, func(c *bridge.Config) { c.HTTP.PprofAddr = "127.0.0.1:0" })
	require.NotEmpty(t, b.PprofAddr())
	code, body := get(t, "http://"+b.PprofAddr()+"/debug/pprof/goroutine?debug=1", "")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, "goroutine profile")
	code, _ = get(t, b.HTTPURL+"/debug/pprof/", "")
	require.Equal(t, http.StatusNotFound, code, "not on the public port")

	off := bridgetest.Start(t, twoTenants)
	require.Empty(t, off.PprofAddr())
}
