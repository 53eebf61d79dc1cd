package sparkplug

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestGeneratedCodeIsUpToDate regenerates sparkplug_b.pb.go with the
// go:generate command of generate.go into a temporary directory and
// compares it with the committed file.
func TestGeneratedCodeIsUpToDate(t *testing.T) {
	if _, err := exec.LookPath("protoc"); err != nil {
		if os.Getenv("CI") == "true" { // .ci/run installs it: a skip there would hide the check
			t.Fatal("CI=true: protoc is not on PATH")
		}
		t.Skip("protoc is not on PATH: cannot check sparkplug_b.pb.go (install Debian's protobuf-compiler)")
	}
	dir := t.TempDir()
	// protoc-gen-go is built from the module graph, so it is exactly the
	// version of the protobuf runtime in go.mod.
	plugin := filepath.Join(dir, "protoc-gen-go")
	build := exec.Command("go", "build", "-o", plugin, "google.golang.org/protobuf/cmd/protoc-gen-go")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)
	proto, err := os.ReadFile("sparkplug_b.proto")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sparkplug_b.proto"), proto, 0o644))
	args := []string{"--proto_path=.", "--go_out=.", "--go_opt=paths=source_relative",
		"--go_opt=Msparkplug_b.proto=github.com/mqlive/mqlive/devices/sparkplug;sparkplug", "sparkplug_b.proto"}
	cmd := exec.Command("protoc", append([]string{"--plugin=protoc-gen-go=" + plugin}, args...)...)
	cmd.Dir = dir
	out, err = cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	got, err := os.ReadFile(filepath.Join(dir, "sparkplug_b.pb.go"))
	require.NoError(t, err)
	want, err := os.ReadFile("sparkplug_b.pb.go")
	require.NoError(t, err)
	// The header names the protoc version; any protoc generates the same
	// code from this file, so only that line may differ.
	if !bytes.Equal(withoutProtocVersion(got), withoutProtocVersion(want)) {
		t.Fatal("sparkplug_b.pb.go differs from what protoc generates; run go generate ./devices/sparkplug/")
	}
	gen, err := os.ReadFile("generate.go")
	require.NoError(t, err)
	require.Contains(t, string(gen), "protoc "+strings.Join(args, " "),
		"generate.go runs the same command as this test")
}

func withoutProtocVersion(b []byte) []byte {
	var out [][]byte
	for _, line := range bytes.Split(b, []byte("\n")) {
		if !bytes.HasPrefix(line, []byte("// \tprotoc ")) {
			out = append(out, line)
		}
	}
	return bytes.Join(out, []byte("\n"))
}
