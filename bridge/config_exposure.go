package bridge

import (
	"net"
	"os"
	"strings"
)

// minMetricsTokenBytes is the shortest http.metrics_token accepted.
const minMetricsTokenBytes = 16

func (c *Config) validateMetrics(v *validator) {
	h := &c.HTTP
	if h.MetricsAddr != "" {
		v.hostPort("http.metrics_addr", h.MetricsAddr)
		if _, port, _ := net.SplitHostPort(h.MetricsAddr); h.MetricsAddr == h.Addr && port != "0" {
			v.addf("http.metrics_addr", "%q is http.addr; give /metrics its own port (e.g. \"127.0.0.1:9091\") or leave it empty", h.MetricsAddr)
		}
	}
	if h.PprofAddr != "" {
		v.hostPort("http.pprof_addr", h.PprofAddr)
		if host, _, err := net.SplitHostPort(h.PprofAddr); err == nil {
			if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
				v.addf("http.pprof_addr", "%q is not a loopback address; the profiler shows code paths and memory, so it listens on 127.0.0.1 or [::1] only (reach it through ssh -L)", h.PprofAddr)
			}
		}
	}
	if h.MetricsToken != "" && len(h.MetricsToken) < minMetricsTokenBytes {
		v.addf("http.metrics_token", "is %d bytes; use at least %d random bytes (e.g. `openssl rand -hex 16`)", len(h.MetricsToken), minMetricsTokenBytes)
	}
}

// Warnings lists what the configuration exposes that an operator should
// know about but that stays allowed for compatibility; main logs each at
// start.
func (c Config) Warnings() []string {
	var w []string
	if c.HTTP.MetricsAddr == "" && c.HTTP.MetricsToken == "" {
		w = append(w, "/metrics is served on http.addr without a token and names every tenant; set http.metrics_addr (e.g. 127.0.0.1:9091) or http.metrics_token")
	}
	if c.Auth.PublicKeyFile != "" {
		var missing []string
		if c.Auth.Issuer == "" {
			missing = append(missing, "auth.issuer")
		}
		if c.Auth.Audience == "" {
			missing = append(missing, "auth.audience")
		}
		if len(missing) > 0 {
			w = append(w, "auth.public_key_file is set without "+strings.Join(missing, " and ")+": any token the key's owner signs for another service is accepted here; set them")
		}
	}
	return w
}

// loadSecretFile reads auth.jwt_secret_file into JWTSecret, so that the
// secret never appears on a command line (visible to every local user in
// ps) or in the environment. Trailing white space (the newline editors
// add) is dropped.
func (a *AuthConfig) loadSecretFile() error {
	if a.JWTSecretFile == "" {
		return nil
	}
	if a.JWTSecret != "" {
		return fieldErr("auth", "both jwt_secret and jwt_secret_file are set; keep only one (jwt_secret_file keeps the secret out of ps)")
	}
	b, err := os.ReadFile(a.JWTSecretFile)
	if err != nil {
		return fieldErr("auth.jwt_secret_file", "%v; point it at a file holding the secret", err)
	}
	s := strings.TrimRight(string(b), " \t\r\n")
	if s == "" {
		return fieldErr("auth.jwt_secret_file", "%s is empty; write the secret into it (e.g. `openssl rand -hex 32 > %s`)", a.JWTSecretFile, a.JWTSecretFile)
	}
	a.JWTSecret = s
	return nil
}

// fieldErr is a one-problem config error in Validate's format.
func fieldErr(key, format string, args ...any) error {
	var v validator
	v.addf(key, format, args...)
	return v.err()
}
