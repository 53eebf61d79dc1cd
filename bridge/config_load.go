package bridge

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Environment variables read by Load.
const (
	EnvConfig     = "MQLIVE_CONFIG"
	EnvNode       = "MQLIVE_NODE"
	EnvDev        = "MQLIVE_DEV"
	EnvLogLevel   = "MQLIVE_LOG_LEVEL"
	EnvHTTPAddr   = "MQLIVE_HTTP_ADDR"
	EnvMQTTURL    = "MQLIVE_MQTT_URL"
	EnvMQTTListen = "MQLIVE_MQTT_LISTEN"
	EnvJWTSecret  = "MQLIVE_JWT_SECRET"

	EnvJWTSecretFile = "MQLIVE_JWT_SECRET_FILE"
	EnvMetricsAddr   = "MQLIVE_METRICS_ADDR"
	EnvMetricsToken  = "MQLIVE_METRICS_TOKEN"
	EnvPprofAddr     = "MQLIVE_PPROF_ADDR"

	EnvClusterBackplane = "MQLIVE_CLUSTER_BACKPLANE"
	EnvValkeyAddrs      = "MQLIVE_VALKEY_ADDRS"
	EnvValkeyPassword   = "MQLIVE_VALKEY_PASSWORD"
	EnvMQTTSharedGroup  = "MQLIVE_MQTT_SHARED_GROUP"
	EnvStatePath        = "MQLIVE_STATE_PATH"
)

// Load builds the configuration from, in increasing precedence: defaults,
// the YAML file named by --config or MQLIVE_CONFIG, MQLIVE_* variables in
// env ("KEY=value" entries, as os.Environ returns; the last one of a key
// wins), and flags in args (without the program name). The result has its
// defaults applied and is validated; in dev mode the caller then runs
// EnsureDevSecret.
//
// An unknown YAML key, a value of the wrong type, or a bad flag or variable
// is an error naming it. -h and --help return an error wrapping
// flag.ErrHelp; print Usage() then.
func Load(args []string, env []string) (Config, error) {
	fl, err := parseFlags(args)
	if err != nil {
		return Config{}, err
	}
	envMap := parseEnv(env)

	var cfg Config
	path := envMap[EnvConfig]
	if fl.set["config"] {
		path = fl.config
	}
	if path != "" {
		if err := loadFile(path, &cfg); err != nil {
			return Config{}, err
		}
	}
	if err := applyEnv(&cfg, envMap); err != nil {
		return Config{}, err
	}
	fl.apply(&cfg)
	if err := cfg.Auth.loadSecretFile(); err != nil {
		return Config{}, err
	}
	if err := cfg.loadWebhookSecrets(env, configDir(path)); err != nil {
		return Config{}, err
	}
	cfg.ApplyDefaults()
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// flags holds the parsed command line and which flags were given, so that
// only those override the file and the environment.
type flags struct {
	set                                   map[string]bool
	config, node, logLevel                string
	httpAddr, mqttURL, mqttListen, secret string
	secretFile, metricsAddr, pprofAddr    string
	dev                                   bool
}

func newFlagSet(f *flags) *flag.FlagSet {
	fs := flag.NewFlagSet("mqlive", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&f.config, "config", "", "YAML config file (env "+EnvConfig+")")
	fs.BoolVar(&f.dev, "dev", false, "dev mode: generate a JWT secret if none and print a dashboard URL with a token (env "+EnvDev+")")
	fs.StringVar(&f.node, "node", "", "node name reported to clients (default: host name; env "+EnvNode+")")
	fs.StringVar(&f.logLevel, "log-level", "", "debug, info, warn or error (default info; env "+EnvLogLevel+")")
	fs.StringVar(&f.httpAddr, "http-addr", "", "HTTP listen address (default "+DefaultHTTPAddr+"; env "+EnvHTTPAddr+")")
	fs.StringVar(&f.mqttURL, "mqtt-url", "", "upstream MQTT broker URL; empty starts the embedded broker (env "+EnvMQTTURL+")")
	fs.StringVar(&f.mqttListen, "mqtt-listen", "", "embedded broker listen address (default "+DefaultMQTTListen+"; env "+EnvMQTTListen+")")
	fs.StringVar(&f.secret, "jwt-secret", "", "HS256 secret, 32+ bytes; visible in ps, prefer --jwt-secret-file (env "+EnvJWTSecret+")")
	fs.StringVar(&f.secretFile, "jwt-secret-file", "", "file holding the HS256 secret (env "+EnvJWTSecretFile+")")
	fs.StringVar(&f.pprofAddr, "pprof-addr", "", "serve Go's profiler (/debug/pprof/) on this loopback host:port, e.g. 127.0.0.1:6060 (env "+EnvPprofAddr+")")
	fs.StringVar(&f.metricsAddr, "metrics-addr", "", "serve /metrics on this host:port instead of --http-addr, e.g. 127.0.0.1:9091 (env "+EnvMetricsAddr+")")
	return fs
}

func parseFlags(args []string) (*flags, error) {
	f := &flags{set: map[string]bool{}}
	fs := newFlagSet(f)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, fmt.Errorf("%w (run with -h for the list of flags)", err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q; mqlive takes flags, or a subcommand before them (run mqlive help)", fs.Arg(0))
	}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	return f, nil
}

func (f *flags) apply(c *Config) {
	if f.set["node"] {
		c.Node = f.node
	}
	if f.set["dev"] {
		c.Dev = f.dev
	}
	if f.set["log-level"] {
		c.Log.Level = f.logLevel
	}
	if f.set["http-addr"] {
		c.HTTP.Addr = f.httpAddr
	}
	if f.set["mqtt-url"] {
		c.MQTT.URL = f.mqttURL
	}
	if f.set["mqtt-listen"] {
		c.MQTT.Listen = f.mqttListen
	}
	if f.set["jwt-secret"] {
		c.Auth.JWTSecret = f.secret
	}
	if f.set["jwt-secret-file"] {
		c.Auth.JWTSecretFile = f.secretFile
	}
	if f.set["metrics-addr"] {
		c.HTTP.MetricsAddr = f.metricsAddr
	}
	if f.set["pprof-addr"] {
		c.HTTP.PprofAddr = f.pprofAddr
	}
}

// Usage returns the flag and environment help text.
func Usage() string {
	var b strings.Builder
	fs := newFlagSet(&flags{})
	fs.SetOutput(&b)
	b.WriteString("Usage: mqlive [flags]\n\nFlags (override " + EnvConfig + " file values and MQLIVE_* variables):\n")
	fs.PrintDefaults()
	return b.String()
}

func parseEnv(env []string) map[string]string {
	m := map[string]string{}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && strings.HasPrefix(k, "MQLIVE_") {
			m[k] = v
		}
	}
	return m
}

func applyEnv(c *Config, env map[string]string) error {
	for name, dst := range map[string]*string{
		EnvNode:       &c.Node,
		EnvLogLevel:   &c.Log.Level,
		EnvHTTPAddr:   &c.HTTP.Addr,
		EnvMQTTURL:    &c.MQTT.URL,
		EnvMQTTListen: &c.MQTT.Listen,
		EnvJWTSecret:  &c.Auth.JWTSecret,

		EnvJWTSecretFile: &c.Auth.JWTSecretFile,
		EnvMetricsAddr:   &c.HTTP.MetricsAddr,
		EnvMetricsToken:  &c.HTTP.MetricsToken,
		EnvPprofAddr:     &c.HTTP.PprofAddr,

		EnvClusterBackplane: &c.Cluster.Backplane,
		EnvValkeyPassword:   &c.Cluster.Valkey.Password,
		EnvMQTTSharedGroup:  &c.MQTT.SharedGroup,
		EnvStatePath:        &c.State.Path,
	} {
		if v, ok := env[name]; ok {
			*dst = v
		}
	}
	if v, ok := env[EnvValkeyAddrs]; ok {
		c.Cluster.Valkey.Addrs = nil
		for _, a := range strings.Split(v, ",") {
			if a = strings.TrimSpace(a); a != "" {
				c.Cluster.Valkey.Addrs = append(c.Cluster.Valkey.Addrs, a)
			}
		}
	}
	if v, ok := env[EnvDev]; ok {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("%s: %q is not a boolean; use true or false", EnvDev, v)
		}
		c.Dev = b
	}
	return nil
}

// loadFile decodes the YAML file at path into c. It first walks the document
// against Config's shape to report unknown keys and ill-typed values with
// their key path and line, then decodes for real with KnownFields(true).
func loadFile(path string, c *Config) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	if err := decodeYAML(path, data, c); err != nil {
		return err
	}
	// A relative key file is relative to the config file, not to wherever
	// the process happens to start.
	if p := c.Auth.PublicKeyFile; p != "" && !filepath.IsAbs(p) {
		c.Auth.PublicKeyFile = filepath.Join(filepath.Dir(path), p)
	}
	if p := c.Auth.JWTSecretFile; p != "" && !filepath.IsAbs(p) {
		c.Auth.JWTSecretFile = filepath.Join(filepath.Dir(path), p)
	}
	return nil
}

// decodeYAML decodes data (read from path, which names it in errors) into c.
func decodeYAML(path string, data []byte, c *Config) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	if len(doc.Content) > 0 {
		if errs := checkNode(doc.Content[0], configType, ""); len(errs) > 0 {
			for i, e := range errs {
				errs[i] = fmt.Errorf("%s:%w", path, e)
			}
			return fmt.Errorf("invalid config file:\n  %w", joinLines(errs))
		}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return fmt.Errorf("config file %s: holds more than one YAML document; keep one", path)
	}
	return nil
}
