// Command mqlive-token prints a dashboard token signed with the HS256
// secret in MQLIVE_JWT_SECRET, the same secret every node of a cluster
// verifies with. By default it is the dev-mode token: an admin of the
// tenant that may subscribe to the default channels and monitor, publish
// to app:*, command any device and call the whole admin HTTP API. Its
// lifetime must fit the nodes' auth.max_token_lifetime (default 24h).
//
//	MQLIVE_JWT_SECRET=… mqlive-token --user dev --tenant default --ttl 24h
//
// `mqlive token` is the general form: any chan/pub/cmd claims, the issuer,
// audience and key of a config file, public-key setups, and a check that the
// configuration accepts the result. This command stays for the scripts and
// tests that use it.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mqlive/mqlive/bridge/auth"
)

func main() {
	os.Exit(run(os.Args[1:], os.Getenv("MQLIVE_JWT_SECRET"), os.Stdout, os.Stderr))
}

func run(args []string, secret string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mqlive-token", flag.ContinueOnError)
	fs.SetOutput(stderr)
	user := fs.String("user", "dev", "the token's sub")
	tenant := fs.String("tenant", "default", "the token's tenant")
	ttl := fs.Duration("ttl", auth.DefaultMaxLifetime, "how long the token stays valid")
	maxLife := fs.Duration("max-lifetime", auth.DefaultMaxLifetime, "the nodes' auth.max_token_lifetime; a longer --ttl is refused (0: no cap)")
	admin := fs.Bool("admin", true, "admin claim (monitor channel)")
	api := fs.String("api", strings.Join(auth.APIOperations, ","), "api claim: admin HTTP API operations, comma-separated (empty: none)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if len(secret) < 32 {
		fmt.Fprintln(stderr, "mqlive-token: set MQLIVE_JWT_SECRET to the nodes' secret (at least 32 bytes)")
		return 2
	}
	if *maxLife > 0 && *ttl > *maxLife {
		fmt.Fprintf(stderr, "mqlive-token: --ttl %s is longer than --max-lifetime %s; the bridge would refuse the token\n", *ttl, *maxLife)
		return 2
	}
	c := auth.DevClaims(*user, *tenant, *ttl)
	c.Admin = *admin
	c.API = nil
	for _, op := range strings.Split(*api, ",") {
		if op = strings.TrimSpace(op); op != "" {
			c.API = append(c.API, op)
		}
	}
	if err := c.Validate(); err != nil {
		fmt.Fprintf(stderr, "mqlive-token: %v\n", err)
		return 2
	}
	tok, err := auth.NewHMACSigner([]byte(secret)).Sign(c)
	if err != nil {
		fmt.Fprintf(stderr, "mqlive-token: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, tok)
	return 0
}
