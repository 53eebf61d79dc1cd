package wasm

import (
	"bytes"
	"compress/gzip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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

// TestWasmSize builds the shipped binary through sdk-js/scripts/build.sh
// (so the flags measured are the flags shipped) and holds it to the size
// budget: ≤ 500 KB brotli (quality 11, as WASM.md measures it). Go's own
// floor, a hello world on syscall/js, is about 440 KB of that.
func TestWasmSize(t *testing.T) {
	out := filepath.Join(t.TempDir(), "mqlive.wasm")
	cmd := exec.Command("bash", "../sdk-js/scripts/build.sh")
	cmd.Env = append(os.Environ(), "MQLIVE_WASM_OUT="+out)
	msg, err := cmd.CombinedOutput()
	require.NoError(t, err, "build.sh:\n%s", msg)
	raw, err := os.ReadFile(out)
	require.NoError(t, err)
	var gz bytes.Buffer
	w, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	require.NoError(t, err)
	_, err = w.Write(raw)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	br := brotliSize(t, out)
	t.Logf("mqlive.wasm: %d bytes raw, %d gzip -9, %d brotli -q 11", len(raw), gz.Len(), br)
	require.LessOrEqual(t, br, 500_000, "the .wasm is over its 500 KB brotli budget")
}

// brotliSize compresses a file at quality 11 with Node's zlib (native
// brotli; the pure-Go port takes minutes under the race detector) and
// returns the compressed size. Node is part of the test toolchain (make
// test-js); without it the test skips, under CI=true it fails.
func brotliSize(t *testing.T, path string) int {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("node is needed to measure the brotli size")
		}
		t.Skip("node not installed: cannot measure the brotli size")
	}
	const script = `const z = require('zlib'), b = require('fs').readFileSync(process.argv[1]);
process.stdout.write(String(z.brotliCompressSync(b, {params: {
  [z.constants.BROTLI_PARAM_QUALITY]: 11, [z.constants.BROTLI_PARAM_LGWIN]: 24,
  [z.constants.BROTLI_PARAM_SIZE_HINT]: b.length}}).length))`
	out, err := exec.Command(node, "-e", script, path).Output()
	require.NoError(t, err)
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	require.NoError(t, err)
	return n
}
