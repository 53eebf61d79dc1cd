// Command gen writes the mqlive Grafana dashboards, built as Go code in
// package grafana, to JSON files that Grafana provisions. `make grafana`
// runs it from the repository root.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/mqlive/mqlive/grafana"
)

func main() {
	out := flag.String("out", "grafana/dashboards", "directory to write the dashboard JSON files to")
	flag.Parse()
	names, err := grafana.Write(*out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	for _, n := range names {
		fmt.Printf("wrote %s/%s\n", *out, n)
	}
}
