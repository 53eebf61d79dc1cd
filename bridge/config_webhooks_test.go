package bridge

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestLoadWebhooks pins the webhook keys and the three ways to give a
// secret: inline, a file relative to the config file, an environment
// variable.
func TestLoadWebhooks(t *testing.T) {
	path := writeConfig(t, `
auth: { jwt_secret: "`+testSecret+`" }
webhooks:
  - name: ops
    url: "https://hooks.example.com/mqlive"
    secret: "inline-secret-0123456789"
    events: [device.offline, device.online]
    tenants: [acme]
    queue_size: 50
    workers: 3
    timeout: 5s
    max_attempts: 4
    max_retry_time: 2m
    initial_backoff: 2s
    max_backoff: 30s
    rejected_threshold: 20
    rejected_window: 30s
  - url: "http://127.0.0.1:9000/hook"
    secret_file: hook.secret
  - url: "http://127.0.0.1:9001/hook"
    secret_env: HOOK_SECRET
`)
	require.NoError(t, os.WriteFile(filepath.Join(filepath.Dir(path), "hook.secret"), []byte("file-secret-0123456789\n"), 0o600))
	cfg, err := Load([]string{"--config", path}, []string{"HOOK_SECRET=env-secret-0123456789"})
	require.NoError(t, err)
	require.Len(t, cfg.Webhooks, 3)
	require.Equal(t, WebhookConfig{Name: "ops", URL: "https://hooks.example.com/mqlive", Secret: "inline-secret-0123456789",
		Events: []string{"device.offline", "device.online"}, Tenants: []string{"acme"}, QueueSize: 50, Workers: 3,
		Timeout: 5 * time.Second, MaxAttempts: 4, MaxRetryTime: 2 * time.Minute, InitialBackoff: 2 * time.Second,
		MaxBackoff: 30 * time.Second, RejectedThreshold: 20, RejectedWindow: 30 * time.Second}, cfg.Webhooks[0])
	require.Equal(t, "file-secret-0123456789", cfg.Webhooks[1].Secret)
	require.Equal(t, "env-secret-0123456789", cfg.Webhooks[2].Secret)
	eps := cfg.webhookEndpoints()
	require.Equal(t, []string{"ops", "webhook-2", "webhook-3"}, []string{eps[0].Name, eps[1].Name, eps[2].Name})

	red := cfg.Redacted()
	for _, w := range red.Webhooks {
		require.Equal(t, "REDACTED", w.Secret)
	}
	require.Equal(t, "inline-secret-0123456789", cfg.Webhooks[0].Secret, "Redacted copies")
}

func TestLoadWebhookSecretErrors(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, want string }{
		"two secrets": {`{url: "https://h.example", secret: "inline-secret-0123456789", secret_env: X}`, "webhooks[0]: more than one of secret"},
		"no file":     {`{url: "https://h.example", secret_file: missing.secret}`, "webhooks[0].secret_file:"},
		"no env":      {`{url: "https://h.example", secret_env: NOT_SET_ANYWHERE}`, "webhooks[0].secret_env: variable NOT_SET_ANYWHERE is not set"},
		"no secret":   {`{url: "https://h.example"}`, "webhooks[0].secret: is required"},
		"short":       {`{url: "https://h.example", secret: short}`, "webhooks[0].secret: is 5 bytes"},
		"url":         {`{url: "ftp://h.example", secret: "inline-secret-0123456789"}`, "webhooks[0].url:"},
		"event":       {`{url: "https://h.example", secret: "inline-secret-0123456789", events: [device.gone]}`, `webhooks[0].events: "device.gone" is not one of`},
		"tenant":      {`{url: "https://h.example", secret: "inline-secret-0123456789", tenants: ["Bad Tenant"]}`, "webhooks[0].tenants[0]:"},
		"negative":    {`{url: "https://h.example", secret: "inline-secret-0123456789", max_attempts: -1}`, "webhooks[0].max_attempts: -1 must be positive"},
	} {
		path := writeConfig(t, "auth: { jwt_secret: \""+testSecret+"\" }\nwebhooks:\n  - "+tc.yaml+"\n")
		_, err := Load([]string{"--config", path}, nil)
		require.ErrorContains(t, err, tc.want, name)
	}
	cfg := DefaultConfig()
	cfg.Auth.JWTSecret = testSecret
	cfg.Webhooks = []WebhookConfig{{URL: "https://a.example", Secret: "inline-secret-0123456789", Name: "x"},
		{URL: "https://b.example", Secret: "inline-secret-0123456789", Name: "x"}}
	require.ErrorContains(t, cfg.Validate(), `webhooks[1].name: "x" is also the name of webhooks[0]`)
}
