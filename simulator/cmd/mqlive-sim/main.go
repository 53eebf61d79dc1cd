package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/mqlive/mqlive/simulator"
	"github.com/mqlive/mqlive/simulator/load"
)

const envPrefix = "MQLIVE_SIM_"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var err error
	switch {
	case len(os.Args) > 1 && os.Args[1] == "load":
		err = runLoad(ctx, os.Args[2:], os.LookupEnv, os.Stdout, os.Stderr)
	case len(os.Args) > 1 && os.Args[1] == load.ReferenceCommand:
		err = load.RunReference(ctx, os.Args[2:], os.Stderr)
	default:
		err = run(ctx, os.Args[1:], os.LookupEnv, os.Stderr)
	}
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "mqlive-sim:", err)
		os.Exit(1)
	}
}

// errUsage marks a bad flag or environment value; the message was printed.
var errUsage = errors.New("usage")

// run parses args and the environment into a simulator.Config and runs it.
func run(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stderr io.Writer) error {
	fs := flag.NewFlagSet("mqlive-sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg      simulator.Config
		families string
		bases    string
		start    string
		qos      uint
		level    slog.Level
	)
	fs.StringVar(&cfg.URL, "url", simulator.DefaultURL, "MQTT broker URL (tcp://, mqtt://, ssl://, tls://, mqtts://)")
	fs.StringVar(&cfg.Username, "username", "", "MQTT username for every device")
	fs.StringVar(&cfg.Password, "password", "", "MQTT password for every device (prefer "+envPrefix+"PASSWORD)")
	fs.IntVar(&cfg.Devices, "devices", simulator.DefaultDevices, "devices per family")
	fs.DurationVar(&cfg.Interval, "interval", simulator.DefaultInterval, "report interval of each device (±10% jitter)")
	fs.Int64Var(&cfg.Seed, "seed", 1, "seed for device names and payload values (same seed, same fleet)")
	fs.StringVar(&start, "start", "", "RFC 3339 time: stamp the k-th round start+k*interval instead of the wall clock (reproducible payloads)")
	fs.StringVar(&families, "families", "", "comma-separated family ids to simulate (default: every family that can)")
	fs.StringVar(&bases, "base", "", "comma-separated family=base topic overrides, e.g. zigbee2mqtt=z2m/home")
	fs.Float64Var(&cfg.Rate, "rate", 0, "total telemetry rounds per second across the fleet; sets the interval (0: use --interval)")
	fs.DurationVar(&cfg.Skew, "skew", 0, "give each device a fixed clock error in [-skew, +skew] (e.g. 90s)")
	fs.DurationVar(&cfg.Storm, "storm", 0, "every this long, drop the whole fleet offline at once (LWT storm); 0: never")
	fs.Float64Var(&cfg.Churn, "churn", 0, "probability per device and interval of dropping offline abruptly (LWT) and returning 1-5 intervals later")
	fs.Float64Var(&cfg.Bad, "bad", 0, "probability per device and interval of sending a malformed payload instead")
	fs.UintVar(&qos, "qos", 0, "QoS of telemetry, 0 or 1 (births and LWTs always use 1)")
	fs.IntVar(&cfg.Count, "count", 0, "stop each device after this many rounds (0: no limit)")
	fs.DurationVar(&cfg.Duration, "duration", 0, "stop after this long (0: until SIGINT/SIGTERM)")
	fs.TextVar(&level, "log-level", slog.LevelInfo, "log level: debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `mqlive-sim simulates IoT devices publishing to an MQTT broker, each in its
family's real wire format (zigbee2mqtt, tasmota, ...). Every device has its
own MQTT connection with the family's LWT as its Will, announces itself
online, then reports every --interval. Names and values follow --seed.

Usage: mqlive-sim [flags]
       mqlive-sim load [flags]   (load generator; mqlive-sim load --help)
       mqlive-sim reference [flags]   (load --reference's yardstick server)

Every flag can also be set in the environment as %s<FLAG>, upper case with
'-' as '_' (e.g. %sURL, %sLOG_LEVEL); a flag on the command line wins.

Flags:
`, envPrefix, envPrefix, envPrefix)
		fs.PrintDefaults()
	}
	if err := parse(fs, args, lookupEnv, stderr); err != nil {
		return err
	}
	if err := finish(&cfg, families, bases, start, qos); err != nil {
		fmt.Fprintln(stderr, "mqlive-sim:", err)
		return errUsage
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	sim, err := simulator.New(cfg, nil) // every shipped family (families.All)
	if err != nil {
		fmt.Fprintln(stderr, "mqlive-sim:", err)
		return errUsage
	}
	return sim.Run(ctx)
}

// parse parses args, then the environment for the flags args left unset;
// a bad value is printed (prefixed with the flag set's name) and returns
// errUsage, --help returns flag.ErrHelp.
func parse(fs *flag.FlagSet, args []string, lookupEnv func(string) (string, bool), stderr io.Writer) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return errUsage
	}
	if err := applyEnv(fs, lookupEnv); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
		return errUsage
	}
	return nil
}

// applyEnv sets every flag not given on the command line from its
// MQLIVE_SIM_* variable; a bad value is an error, never ignored.
func applyEnv(fs *flag.FlagSet, lookupEnv func(string) (string, bool)) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		name := envPrefix + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := lookupEnv(name); ok {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("%s=%q: %v", name, v, e)
			}
		}
	})
	return err
}

// finish fills the Config fields that need parsing beyond the flag types.
func finish(cfg *simulator.Config, families, bases, start string, qos uint) error {
	for _, f := range strings.Split(families, ",") {
		if f = strings.TrimSpace(f); f != "" {
			cfg.Families = append(cfg.Families, f)
		}
	}
	for _, kv := range strings.Split(bases, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		fam, base, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("--base %q: want family=base", kv)
		}
		if cfg.Base == nil {
			cfg.Base = map[string]string{}
		}
		cfg.Base[strings.TrimSpace(fam)] = strings.TrimSpace(base)
	}
	if start != "" {
		t, err := time.Parse(time.RFC3339, start)
		if err != nil {
			return fmt.Errorf("--start: %v", err)
		}
		cfg.Start = t
	}
	if qos > 1 {
		return fmt.Errorf("--qos %d: want 0 or 1", qos)
	}
	cfg.QoS = byte(qos)
	return nil
}
