package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/mqlive/mqlive/bridge/embedded"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func env(kv map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := kv[k]; return v, ok }
}

func TestHelp(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"--help"}, env(nil), &out)
	require.ErrorIs(t, err, flag.ErrHelp)
	for _, want := range []string{"-url", "-devices", "-interval", "-seed", "-families", "-churn", "-count", "-duration", "MQLIVE_SIM_URL"} {
		require.Contains(t, out.String(), want)
	}
}

func TestBadInputFailsAtStart(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		env  map[string]string
		want string
	}{
		"unknown flag":   {[]string{"--nope"}, nil, "flag provided but not defined"},
		"bad env":        {nil, map[string]string{"MQLIVE_SIM_DEVICES": "many"}, "MQLIVE_SIM_DEVICES"},
		"bad churn":      {[]string{"--churn", "2"}, nil, "churn"},
		"bad qos":        {[]string{"--qos", "2"}, nil, "qos"},
		"bad base":       {[]string{"--base", "zigbee2mqtt"}, nil, "family=base"},
		"unknown family": {[]string{"--families", "nope"}, nil, "unknown family"},
		"bad start":      {[]string{"--start", "yesterday"}, nil, "--start"},
		"extra argument": {[]string{"extra"}, nil, "unexpected argument"},
	} {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), tc.args, env(tc.env), &out)
			require.ErrorIs(t, err, errUsage)
			require.Contains(t, out.String(), tc.want)
		})
	}
}

func TestRunsAgainstBroker(t *testing.T) {
	b, err := embedded.New(embedded.Config{Listen: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	defer func() { cancel(); require.NoError(t, <-done) }()

	var out bytes.Buffer
	// The flag wins over the environment; the environment fills the rest.
	err = run(context.Background(), []string{"--count", "2", "--devices", "2", "--families", "tasmota,zigbee2mqtt"},
		env(map[string]string{"MQLIVE_SIM_URL": b.URL(), "MQLIVE_SIM_INTERVAL": "20ms", "MQLIVE_SIM_DEVICES": "9", "MQLIVE_SIM_QOS": "1"}), &out)
	require.NoError(t, err)
	require.Contains(t, out.String(), "simulator stopped")
	require.Contains(t, out.String(), "devices=4")
}

func TestStopsOnContext(t *testing.T) {
	b, err := embedded.New(embedded.Config{Listen: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	bctx, bcancel := context.WithCancel(context.Background())
	bdone := make(chan error, 1)
	go func() { bdone <- b.Run(bctx) }()
	defer func() { bcancel(); require.NoError(t, <-bdone) }()

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err = run(ctx, []string{"--url", b.URL(), "--interval", "20ms"}, env(nil), io.Discard)
	require.False(t, errors.Is(err, errUsage))
	require.NoError(t, err)
}
