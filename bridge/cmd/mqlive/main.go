// Command mqlive runs one mqlive bridge node: MQTT device telemetry in,
// live tenant-scoped dashboard channels out. With no configuration it
// starts an embedded MQTT broker on :1883 (loopback only until mqtt.users
// are configured) and serves the dashboard on :8080; --dev also generates a
// signing secret and prints a dashboard URL that carries a token. Run
// `mqlive --help` for every flag and variable.
//
// Operator subcommands: `mqlive token`, `checktoken`, `genconfig`,
// `checkconfig`, `passwd`, `version`; `mqlive help` lists them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/mqlive/mqlive/bridge"
	"github.com/mqlive/mqlive/bridge/ingest"
)

// devTokenTTL is how long the token in the printed dev URL stays valid.
const devTokenTTL = 24 * time.Hour

func main() {
	isTerm, readPassword := terminalStdin()
	os.Exit(run(os.Args[1:], &stdio{env: os.Environ(), in: os.Stdin, out: os.Stdout, err: os.Stderr,
		isTerminal: isTerm, readPassword: readPassword, now: time.Now}))
}

// run runs the subcommand args[0] names, or else the bridge.
func run(args []string, s *stdio) int {
	if len(args) > 0 {
		if c := lookup(args[0]); c != nil {
			return c.run(s, args[1:])
		}
	}
	return serve(args, s.env, s.out, s.err)
}

// serve runs the bridge with the flags in args until SIGINT or SIGTERM.
func serve(args, env []string, stdout, stderr io.Writer) int {
	cfg, err := bridge.Load(args, env)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, bridge.Usage()+"\n"+subcommandsHelp())
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "mqlive: %v\n", err)
		return 2
	}
	log := newLogger(cfg.Log, stderr)
	generated, err := cfg.EnsureDevSecret()
	if err != nil {
		fmt.Fprintf(stderr, "mqlive: %v\n", err)
		return 2
	}
	if generated {
		log.Warn("dev mode: generated a JWT secret for this run; set auth.jwt_secret (or MQLIVE_JWT_SECRET) to keep tokens valid across restarts")
	}
	b, err := bridge.New(cfg, bridge.WithLogger(log))
	if err != nil {
		fmt.Fprintf(stderr, "mqlive: %v\n", err)
		return 1
	}
	httpURL := "http://" + displayAddr(b.HTTPAddr())
	// The broker URL may carry a password: never print it.
	mqttURL := ingest.RedactURL(b.MQTTURL())
	log.Info("mqlive started", "node", cfg.Node, "http", httpURL, "mqtt", mqttURL,
		"embedded_broker", cfg.MQTT.URL == "", "sources", len(cfg.Sources), "metrics", metricsWhere(b))
	for _, w := range cfg.Warnings() {
		log.Warn(w)
	}
	if cfg.Dev {
		tok, err := cfg.Auth.DevToken(bridge.DevUser, bridge.DefaultTenant, devTokenTTL)
		if err != nil {
			fmt.Fprintf(stderr, "mqlive: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "MQTT: %s\n", mqttURL)
		fmt.Fprintf(stdout, "Dashboard: %s/?token=%s\n", httpURL, tok)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := b.Run(ctx); err != nil {
		log.Error("mqlive stopped", "err", err)
		return 1
	}
	log.Info("mqlive stopped")
	return 0
}

// metricsWhere says where /metrics is served.
func metricsWhere(b *bridge.Bridge) string {
	if a := b.MetricsAddr(); a != "" {
		return "http://" + a + "/metrics"
	}
	return "http://" + displayAddr(b.HTTPAddr()) + "/metrics"
}

// displayAddr turns a listen address into one a browser can open.
func displayAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

func newLogger(c bridge.LogConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(strings.ToUpper(c.Level)))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
