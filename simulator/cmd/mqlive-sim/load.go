package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/mqlive/mqlive/simulator/load"
)

// runLoad is `mqlive-sim load`: WebSocket subscribers and an MQTT
// publisher against one bridge, and a markdown report on out.
func runLoad(ctx context.Context, args []string, lookupEnv func(string) (string, bool), out, stderr io.Writer) error {
	fs := flag.NewFlagSet("mqlive-sim load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg       load.Config
		w         load.Workload
		workloads string
		rates     string
		steps     bool
		profile   string
		level     slog.Level
	)
	fs.StringVar(&cfg.BridgePprof, "bridge-pprof-addr", "", "with --bridge-bin: serve the bridge's profiler on this loopback host:port, e.g. 127.0.0.1:6060")
	fs.StringVar(&cfg.BridgeBin, "bridge-bin", "", "mqlive binary to start (--dev, free loopback ports, a fresh directory) once per workload")
	fs.BoolVar(&cfg.Reference, "reference", false, "with --bridge-bin: also run every workload against mqlive-sim's reference server (a minimal fan-out server on the same libraries) and report it in a second column")
	fs.StringVar(&cfg.WSURL, "ws-url", "", "WebSocket URL of a running bridge, e.g. ws://127.0.0.1:8080/ws (instead of --bridge-bin)")
	fs.StringVar(&cfg.MQTTURL, "mqtt-url", "", "MQTT URL of the running bridge's broker, e.g. tcp://127.0.0.1:1883")
	fs.StringVar(&cfg.TokenSecret, "token-secret", "", "the running bridge's HS256 secret, to mint tokens (prefer "+envPrefix+"TOKEN_SECRET)")
	fs.IntVar(&cfg.ServerPID, "server-pid", 0, "pid of the running bridge, for RSS and CPU figures (0: leave them out)")
	fs.StringVar(&cfg.Tenant, "tenant", "default", "tenant of the minted token")
	fs.StringVar(&cfg.Base, "base", "zigbee2mqtt", "zigbee2mqtt base topic the bridge ingests")
	fs.StringVar(&workloads, "workloads", "", "comma-separated presets to run: w1, w2, w3 (what `make bench-load` runs); overrides the workload flags below")
	fs.IntVar(&w.Subscribers, "subscribers", 50, "WebSocket subscribers")
	fs.IntVar(&w.Channels, "channels", 2, "device channels the subscribers are spread over")
	fs.StringVar(&rates, "rates", "10", "comma-separated publication rates (messages/s in total) to step through; empty: idle sockets only")
	fs.DurationVar(&w.Step, "step", 5*time.Second, "how long each rate is published")
	fs.DurationVar(&w.P99Limit, "p99-limit", time.Second, "stop the sweep after a step whose p99 latency is over this (0: no limit); loss always stops it")
	fs.DurationVar(&w.Drain, "drain", 5*time.Second, "how long to wait for a step's deliveries after its last publication")
	fs.DurationVar(&w.Idle, "idle", 2*time.Second, "settling time after the sockets connect, before the server's RSS is read")
	fs.IntVar(&w.PayloadBytes, "payload-bytes", 256, "MQTT payload size")
	fs.IntVar(&cfg.SourceIPs, "source-ips", 4, "spread the sockets over source addresses 127.0.0.1..N (ephemeral ports)")
	fs.IntVar(&cfg.Concurrency, "concurrency", 64, "sockets connecting at once")
	fs.DurationVar(&cfg.Timeout, "timeout", 15*time.Minute, "bound on the whole run")
	fs.BoolVar(&steps, "steps", false, "also print every step of every workload as a second table")
	fs.StringVar(&profile, "cpuprofile", "", "write the load generator's own CPU profile to this file (go tool pprof)")
	fs.TextVar(&level, "log-level", slog.LevelInfo, "log level of the progress on stderr: debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `mqlive-sim load measures a bridge from outside: WebSocket subscribers
(connect, subscribe to device:<id> channels) in this process, zigbee2mqtt
publications over MQTT at fixed rates with the send time in the payload,
and a markdown table of connect rate, server RSS per socket, server CPU,
deliveries/s, loss and p50/p99/max latency. Loopback only.

Usage: mqlive-sim load --bridge-bin .build/mqlive --workloads w1,w2,w3 [--reference]
       mqlive-sim load --ws-url ws://127.0.0.1:8080/ws --mqtt-url tcp://127.0.0.1:1883 \
           --server-pid PID --subscribers 1000 --channels 10 --rates 1,10,100

Flags (also %s<FLAG> in the environment, e.g. %sTOKEN_SECRET):
`, envPrefix, envPrefix)
		fs.PrintDefaults()
	}
	if err := parse(fs, args, lookupEnv, stderr); err != nil {
		return err
	}
	var err error
	if cfg.Workloads, err = chooseWorkloads(workloads, rates, w); err != nil {
		fmt.Fprintln(stderr, "mqlive-sim load:", err)
		return errUsage
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if profile != "" {
		f, err := os.Create(profile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	results, err := load.Run(ctx, cfg)
	if errors.Is(err, load.ErrConfig) {
		fmt.Fprintln(stderr, "mqlive-sim load:", err)
		return errUsage
	}
	if len(results) > 0 {
		if werr := load.WriteMarkdown(out, results); werr != nil {
			return werr
		}
		if steps {
			fmt.Fprintln(out)
			if werr := load.WriteSteps(out, results); werr != nil {
				return werr
			}
		}
	}
	return err
}

// chooseWorkloads returns the named presets, or the one workload the flags
// describe.
func chooseWorkloads(names, rates string, w load.Workload) ([]load.Workload, error) {
	if names == "" {
		for _, r := range strings.Split(rates, ",") {
			if r = strings.TrimSpace(r); r == "" {
				continue
			}
			v, err := strconv.ParseFloat(r, 64)
			if err != nil {
				return nil, fmt.Errorf("--rates: %q is not a number", r)
			}
			w.Rates = append(w.Rates, v)
		}
		return []load.Workload{w}, nil
	}
	var ws []load.Workload
	for _, n := range strings.Split(names, ",") {
		p, ok := load.Presets[strings.ToLower(strings.TrimSpace(n))]
		if !ok {
			return nil, fmt.Errorf("--workloads: unknown workload %q (want w1, w2 or w3)", n)
		}
		ws = append(ws, p)
	}
	return ws, nil
}
