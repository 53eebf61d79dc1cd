package wasm

import (
	"bytes"
	"compress/gzip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const cmdPkg = "github.com/mqlive/mqlive/wasm/cmd/mqlive-wasm"

func goCmd(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go %s:\n%s", strings.Join(args, " "), out)
	return string(out)
}

// TestWasmDependencies keeps the heavy packages out of the browser build
// (WASM.md §1: encoding/json costs ~200 KB brotli, fmt ~120 KB, time
// ~38 KB, and
// net/http or crypto/tls mean a WebSocket library slipped in).
func TestWasmDependencies(t *testing.T) {
	deps := strings.Fields(goCmd(t, "list", "-deps", cmdPkg))
	require.Contains(t, deps, "syscall/js")
	require.Contains(t, deps, "github.com/mqlive/mqlive/wasm/client")
	// The protocol's constants come from the one shared package, which
	// imports nothing; bridge/wire itself (encoding/json) stays out.
	require.Contains(t, deps, "github.com/mqlive/mqlive/bridge/wire/protocol")
	require.NotContains(t, deps, "github.com/mqlive/mqlive/bridge/wire")
	for _, banned := range []string{"net/http", "crypto/tls", "fmt", "encoding/json", "net", "reflect", "log", "time"} {
		require.NotContains(t, deps, banned)
	}
}

func TestWasmVet(t *testing.T) {
	goCmd(t, "vet", cmdPkg, "github.com/mqlive/mqlive/wasm/client")
}

// TestWasmSize builds the shipped binary (-trimpath -ldflags='-s -w') and
// holds it to the size budget: ≤ 700 KB brotli, which is about 900 KB gzip.
func TestWasmSize(t *testing.T) {
	out := filepath.Join(t.TempDir(), "mqlive.wasm")
	goCmd(t, "build", "-trimpath", "-ldflags=-s -w", "-o", out, cmdPkg)
	raw, err := os.ReadFile(out)
	require.NoError(t, err)
	var gz bytes.Buffer
	w, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	require.NoError(t, err)
	_, err = w.Write(raw)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	t.Logf("mqlive.wasm: %d bytes raw, %d bytes gzip -9", len(raw), gz.Len())
	require.Less(t, len(raw), 3_200_000)
	require.Less(t, gz.Len(), 900_000)
}
