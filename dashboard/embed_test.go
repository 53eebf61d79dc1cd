package dashboard

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFSServesThePage(t *testing.T) {
	for _, name := range []string{"index.html", "app.js", "style.css"} {
		b, err := fs.ReadFile(FS(), name)
		require.NoError(t, err, name)
		require.NotEmpty(t, b, name)
	}
	html, err := fs.ReadFile(FS(), "index.html")
	require.NoError(t, err)
	require.Contains(t, string(html), `<script type="module" src="app.js">`)
	require.Contains(t, string(html), `lang="en"`)
}

// TestAppHandlesMissingSDK guards the fresh-checkout case: without make wasm
// there is no /sdk/, and the page must say how to build it.
func TestAppHandlesMissingSDK(t *testing.T) {
	js, err := fs.ReadFile(FS(), "app.js")
	require.NoError(t, err)
	require.Contains(t, string(js), "import('./sdk/index.js')")
	require.Contains(t, string(js), "make wasm")
	require.False(t, strings.Contains(string(js), "http://"), "no hard-coded origins")
}

// TestPageEncodesNoFamilyCommands: the page sends the commands the bridge
// lists (`commands`) and knows no family's topics or payloads; those live
// in devices/ only.
func TestPageEncodesNoFamilyCommands(t *testing.T) {
	entries, err := fs.ReadDir(FS(), ".")
	require.NoError(t, err)
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".js") {
			continue
		}
		b, err := fs.ReadFile(FS(), e.Name())
		require.NoError(t, err)
		for _, family := range []string{"cmnd/", "Switch.Set", "Switch.Toggle", "state_", "relay", "zigbee2mqtt", "tasmota", "shelly"} {
			require.False(t, strings.Contains(string(b), family), "%s mentions %q: the page must not encode a family's command", e.Name(), family)
		}
	}
	js, err := fs.ReadFile(FS(), "commands.js")
	require.NoError(t, err)
	require.Contains(t, string(js), "client.commands(id)")
}
