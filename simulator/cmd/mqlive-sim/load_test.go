package main

import (
	"bytes"
	"context"
	"flag"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLoadHelp(t *testing.T) {
	var out bytes.Buffer
	err := runLoad(context.Background(), []string{"--help"}, env(nil), &out, &out)
	require.ErrorIs(t, err, flag.ErrHelp)
	for _, want := range []string{"-bridge-bin", "-ws-url", "-mqtt-url", "-token-secret", "-server-pid", "-workloads", "-subscribers", "-channels", "-rates", "-p99-limit", "-source-ips", "-reference", "MQLIVE_SIM_TOKEN_SECRET"} {
		require.Contains(t, out.String(), want)
	}
}

// Bad flags, presets and targets fail with a usage error before anything
// is started or dialled.
func TestLoadBadInput(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		env  map[string]string
		want string
	}{
		"unknown flag":     {args: []string{"--nope"}, want: "flag provided but not defined"},
		"argument":         {args: []string{"w1"}, want: `unexpected argument "w1"`},
		"unknown workload": {args: []string{"--bridge-bin", "x", "--workloads", "w9"}, want: `unknown workload "w9"`},
		"bad rate":         {args: []string{"--bridge-bin", "x", "--rates", "1,fast"}, want: `"fast" is not a number`},
		"no target":        {want: "give a bridge binary to start"},
		"remote bridge": {args: []string{"--ws-url", "ws://192.0.2.1:8080/ws", "--mqtt-url", "tcp://127.0.0.1:1883"},
			env: map[string]string{"MQLIVE_SIM_TOKEN_SECRET": "0123456789abcdef0123456789abcdef"}, want: "loopback only"},
		"reference without a started bridge": {args: []string{"--reference", "--ws-url", "ws://127.0.0.1:8080/ws", "--mqtt-url", "tcp://127.0.0.1:1883"},
			env: map[string]string{"MQLIVE_SIM_TOKEN_SECRET": "0123456789abcdef0123456789abcdef"}, want: "the reference server is compared with a bridge the load generator starts"},
		"bad env": {args: []string{"--bridge-bin", "x"}, env: map[string]string{"MQLIVE_SIM_SUBSCRIBERS": "many"}, want: "MQLIVE_SIM_SUBSCRIBERS"},
	} {
		t.Run(name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := runLoad(context.Background(), tc.args, env(tc.env), &out, &errOut)
			require.ErrorIs(t, err, errUsage)
			require.Contains(t, errOut.String(), tc.want)
			require.Empty(t, out.String())
		})
	}
}
