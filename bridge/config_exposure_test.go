package bridge

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestJWTSecretFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "jwt.secret")
	require.NoError(t, os.WriteFile(path, []byte(testSecret+"\n"), 0o600))

	c, err := Load([]string{"--jwt-secret-file", path}, nil)
	require.NoError(t, err)
	require.Equal(t, testSecret, c.Auth.JWTSecret, "read, trailing newline dropped")
	c, err = Load(nil, []string{EnvJWTSecretFile + "=" + path})
	require.NoError(t, err)
	require.Equal(t, testSecret, c.Auth.JWTSecret)
	// In a config file, a relative path is relative to the file.
	cfgPath := writeConfig(t, "auth: { jwt_secret_file: "+filepath.Base(path)+" }\n")
	require.NoError(t, os.Rename(path, filepath.Join(filepath.Dir(cfgPath), filepath.Base(path))))
	c, err = Load([]string{"--config", cfgPath}, nil)
	require.NoError(t, err)
	require.Equal(t, testSecret, c.Auth.JWTSecret)
	path = filepath.Join(filepath.Dir(cfgPath), filepath.Base(path))

	// Both is ambiguous; a missing, empty or short file fails at start.
	_, err = Load([]string{"--jwt-secret-file", path}, []string{EnvJWTSecret + "=" + testSecret})
	require.ErrorContains(t, err, "both jwt_secret and jwt_secret_file")
	_, err = Load([]string{"--jwt-secret-file", filepath.Join(dir, "missing")}, nil)
	require.ErrorContains(t, err, "auth.jwt_secret_file")
	empty := filepath.Join(dir, "empty")
	require.NoError(t, os.WriteFile(empty, []byte("\n"), 0o600))
	_, err = Load([]string{"--jwt-secret-file", empty}, nil)
	require.ErrorContains(t, err, "is empty")
	short := filepath.Join(dir, "short")
	require.NoError(t, os.WriteFile(short, []byte("abc"), 0o600))
	_, err = Load([]string{"--jwt-secret-file", short}, nil)
	require.ErrorContains(t, err, "auth.jwt_secret")
	require.Contains(t, Usage(), "-jwt-secret-file")
}

func TestMetricsConfig(t *testing.T) {
	c, err := Load([]string{"--jwt-secret", testSecret, "--metrics-addr", "127.0.0.1:9091"}, []string{EnvMetricsToken + "=0123456789abcdef"})
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:9091", c.HTTP.MetricsAddr)
	require.Equal(t, "0123456789abcdef", c.HTTP.MetricsToken)
	c, err = Load(nil, []string{EnvJWTSecret + "=" + testSecret, EnvMetricsAddr + "=:9091"})
	require.NoError(t, err)
	require.Equal(t, ":9091", c.HTTP.MetricsAddr)
	c, err = Load([]string{"--jwt-secret", testSecret, "--pprof-addr", "127.0.0.1:6060"}, []string{EnvPprofAddr + "=[::1]:6061"})
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:6060", c.HTTP.PprofAddr, "the flag wins over the environment")
	c, err = Load(nil, []string{EnvJWTSecret + "=" + testSecret, EnvPprofAddr + "=[::1]:6061"})
	require.NoError(t, err)
	require.Equal(t, "[::1]:6061", c.HTTP.PprofAddr)

	for _, bad := range []func(*Config){
		func(c *Config) { c.HTTP.MetricsAddr = "9091" },
		func(c *Config) { c.HTTP.MetricsAddr = c.HTTP.Addr },
		func(c *Config) { c.HTTP.MetricsToken = "short" },
		func(c *Config) { c.HTTP.PprofAddr = ":6060" },
		func(c *Config) { c.HTTP.PprofAddr = "0.0.0.0:6060" },
		func(c *Config) { c.HTTP.PprofAddr = "6060" },
	} {
		c := DefaultConfig()
		c.Auth.JWTSecret = testSecret
		c.HTTP.Addr = "127.0.0.1:8080"
		bad(&c)
		require.Error(t, c.Validate())
	}
}

func TestConfigWarnings(t *testing.T) {
	c := DefaultConfig()
	w := c.Warnings()
	require.Len(t, w, 1, "the default config serves /metrics publicly")
	require.Contains(t, w[0], "/metrics")
	c.HTTP.MetricsToken = "0123456789abcdef"
	require.Empty(t, c.Warnings())

	c.Auth.PublicKeyFile = "key.pem"
	w = c.Warnings()
	require.Len(t, w, 1)
	require.Contains(t, w[0], "auth.issuer and auth.audience")
	c.Auth.Issuer = "https://id.example.com"
	require.Contains(t, strings.Join(c.Warnings(), "\n"), "without auth.audience")
	c.Auth.Audience = "mqlive"
	require.Empty(t, c.Warnings())
}

// TestMQTTURLPasswordNotInErrors: a config error about mqtt.url never
// quotes its password (url.Parse's errors quote the whole URL).
func TestMQTTURLPasswordNotInErrors(t *testing.T) {
	for _, u := range []string{"tcp://u:s3cret-Pw@host:port", "tcp://u:s3cret-Pw@", "ftp://u:s3cret-Pw@host:1"} {
		_, err := Load([]string{"--jwt-secret", testSecret, "--mqtt-url", u}, nil)
		require.Error(t, err, u)
		require.NotContains(t, err.Error(), "s3cret-Pw", u)
	}
	r := Config{MQTT: MQTTConfig{URL: "tcp://u:s3cret-Pw@host:port"}}.Redacted()
	require.NotContains(t, r.MQTT.URL, "s3cret-Pw")
}
