package dashboard

import (
	"embed"
	"io/fs"
)

// static holds the page. The "all:" prefix is not used: dot files stay out.
//
//go:embed static
var static embed.FS

// FS returns the dashboard's static files, rooted at the static directory.
func FS() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the directory is embedded at build time; this cannot fail
	}
	return sub
}
