package bridge

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mqlive/mqlive/bridge/auth"
	"github.com/mqlive/mqlive/bridge/webhook"
)

// WebhookConfig is one webhook receiver (README "Webhooks"). Exactly one
// of Secret, SecretFile and SecretEnv gives its signing secret.
type WebhookConfig struct {
	// Name labels the webhook's metrics and logs, 1-64 of [a-z0-9_-];
	// default "webhook-<n>" (n from 1, in list order).
	Name string `yaml:"name"`
	// URL receives the POSTs (http or https). Required.
	URL string `yaml:"url"`
	// Secret signs every delivery (HMAC-SHA256), at least 16 bytes.
	Secret string `yaml:"secret"`
	// SecretFile names a file holding Secret (trailing white space
	// dropped; relative to the config file).
	SecretFile string `yaml:"secret_file"`
	// SecretEnv names an environment variable holding Secret.
	SecretEnv string `yaml:"secret_env"`
	// Events lists the event types wanted (device.online, device.offline,
	// device.stale, source.rejected, command.result); empty: all.
	Events []string `yaml:"events"`
	// Tenants lists the tenants whose events are wanted; empty: all.
	Tenants []string `yaml:"tenants"`
	// QueueSize bounds the events waiting for delivery; when full the
	// oldest is dropped (counted). Default 1000.
	QueueSize int `yaml:"queue_size"`
	// Workers is how many deliveries run at once; default 2, at most 64.
	Workers int `yaml:"workers"`
	// Timeout bounds one attempt; default 10s.
	Timeout time.Duration `yaml:"timeout"`
	// MaxAttempts bounds the attempts per event, the first included;
	// default 10.
	MaxAttempts int `yaml:"max_attempts"`
	// MaxRetryTime: no attempt starts later than this after the first;
	// default 5m.
	MaxRetryTime time.Duration `yaml:"max_retry_time"`
	// InitialBackoff is the wait after the first failed attempt, doubled
	// after each further one up to MaxBackoff, each wait drawn at random
	// from its upper half (jitter); default 1s.
	InitialBackoff time.Duration `yaml:"initial_backoff"`
	// MaxBackoff caps the wait between attempts; default 1m.
	MaxBackoff time.Duration `yaml:"max_backoff"`
	// RejectedThreshold: this many or more rejected messages of one
	// source within RejectedWindow of the first give one source.rejected
	// event; default 10.
	RejectedThreshold int `yaml:"rejected_threshold"`
	// RejectedWindow is the length of a source.rejected window, counted
	// from its first rejection; the event is sent when it ends. Default
	// 1m.
	RejectedWindow time.Duration `yaml:"rejected_window"`
}

// endpoint converts the config; the secret must be loaded.
func (w *WebhookConfig) endpoint(i int) webhook.Endpoint {
	name := w.Name
	if name == "" {
		name = fmt.Sprintf("webhook-%d", i+1)
	}
	return webhook.Endpoint{
		Name: name, URL: w.URL, Secret: w.Secret, Events: w.Events, Tenants: w.Tenants,
		QueueSize: w.QueueSize, Workers: w.Workers, Timeout: w.Timeout, MaxAttempts: w.MaxAttempts,
		MaxRetryTime: w.MaxRetryTime, InitialBackoff: w.InitialBackoff, MaxBackoff: w.MaxBackoff,
		RejectedThreshold: w.RejectedThreshold, RejectedWindow: w.RejectedWindow,
	}
}

// webhookEndpoints is the webhooks of the config as the webhook package
// takes them.
func (c *Config) webhookEndpoints() []webhook.Endpoint {
	eps := make([]webhook.Endpoint, len(c.Webhooks))
	for i := range c.Webhooks {
		eps[i] = c.Webhooks[i].endpoint(i)
	}
	return eps
}

// loadWebhookSecrets reads each webhook's secret_file or secret_env (from
// env, the "KEY=value" environment Load was given; the last entry of a
// key wins) into its Secret. A relative secret_file is relative to dir,
// the config file's directory.
func (c *Config) loadWebhookSecrets(env []string, dir string) error {
	for i := range c.Webhooks {
		w := &c.Webhooks[i]
		key := fmt.Sprintf("webhooks[%d]", i)
		n := 0
		for _, s := range []string{w.Secret, w.SecretFile, w.SecretEnv} {
			if s != "" {
				n++
			}
		}
		if n > 1 {
			return fieldErr(key, "more than one of secret, secret_file and secret_env is set; keep one")
		}
		switch {
		case w.SecretFile != "":
			p := w.SecretFile
			if !filepath.IsAbs(p) && dir != "" {
				p = filepath.Join(dir, p)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return fieldErr(key+".secret_file", "%v; point it at a file holding the secret", err)
			}
			if w.Secret = strings.TrimRight(string(b), " \t\r\n"); w.Secret == "" {
				return fieldErr(key+".secret_file", "%s is empty; write the secret into it (e.g. `openssl rand -hex 32 > %s`)", p, p)
			}
		case w.SecretEnv != "":
			var v string
			for _, kv := range env {
				if k, val, ok := strings.Cut(kv, "="); ok && k == w.SecretEnv {
					v = val
				}
			}
			if v == "" {
				return fieldErr(key+".secret_env", "variable %s is not set or empty; export it with the secret", w.SecretEnv)
			}
			w.Secret = v
		}
	}
	return nil
}

// configDir is the directory of the config file path, or "" without one.
func configDir(path string) string {
	if path == "" {
		return ""
	}
	return filepath.Dir(path)
}

// validateWebhooks checks every webhook as the webhook package will,
// naming each problem's key.
func (c *Config) validateWebhooks(v *validator) {
	names := map[string]int{}
	for i := range c.Webhooks {
		w := &c.Webhooks[i]
		key := fmt.Sprintf("webhooks[%d]", i)
		if w.Secret == "" && w.SecretFile == "" && w.SecretEnv == "" {
			v.addf(key+".secret", "is required: set secret, secret_file or secret_env (every delivery is signed)")
		}
		ep := w.endpoint(i)
		if ep.Secret == "" {
			// Not loaded yet (a config built by hand with secret_file or
			// secret_env): the length is checked when it is.
			ep.Secret = strings.Repeat("x", webhook.MinSecretBytes)
		}
		for _, err := range ep.Check() {
			v.errs = append(v.errs, fmt.Errorf("%s.%w", key, err))
		}
		for j, t := range w.Tenants {
			if !auth.ValidTenant(t) {
				v.addf(fmt.Sprintf("%s.tenants[%d]", key, j), "%q is not 1-64 characters of [a-z0-9_-]", t)
			}
		}
		if j, dup := names[ep.Name]; dup {
			v.addf(key+".name", "%q is also the name of webhooks[%d]; names label metrics and must differ", ep.Name, j)
		} else {
			names[ep.Name] = i
		}
	}
}

// redactWebhooks returns a copy of ws with secrets and URL passwords
// replaced by "REDACTED".
func redactWebhooks(ws []WebhookConfig) []WebhookConfig {
	if len(ws) == 0 {
		return ws
	}
	out := make([]WebhookConfig, len(ws))
	for i, w := range ws {
		if w.Secret != "" {
			w.Secret = "REDACTED"
		}
		w.URL = redactURL(w.URL)
		out[i] = w
	}
	return out
}
