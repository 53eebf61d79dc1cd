package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/term"

	"github.com/mqlive/mqlive/bridge"
	"github.com/mqlive/mqlive/bridge/auth"
	"github.com/mqlive/mqlive/bridge/ingest"
)

// command is one `mqlive <name>` subcommand. Its run gets the arguments
// after the name and returns the exit code: 0 done, 1 failed, 2 misused.
type command struct {
	name, args, summary string
	run                 func(io *stdio, args []string) int
}

// stdio is a subcommand's environment, so tests run them in process.
type stdio struct {
	env          []string
	in           io.Reader
	out, err     io.Writer
	isTerminal   func() bool            // stdin is a terminal
	readPassword func() ([]byte, error) // read without echo
	now          func() time.Time
}

func (s *stdio) fail(name string, code int, format string, args ...any) int {
	fmt.Fprintf(s.err, "mqlive %s: %s\n", name, fmt.Sprintf(format, args...))
	return code
}

// flags returns a flag set for subcommand name whose -h prints its usage.
func (s *stdio) flags(c *command) *flag.FlagSet {
	fs := flag.NewFlagSet("mqlive "+c.name, flag.ContinueOnError)
	fs.SetOutput(s.err)
	fs.Usage = func() {
		fmt.Fprintf(s.err, "Usage: mqlive %s %s\n\n%s\n", c.name, c.args, c.summary)
		if hasFlags(fs) {
			fmt.Fprintln(s.err, "\nFlags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

// parse parses args; it returns -1 to go on, else the exit code.
func parse(fs *flag.FlagSet, args []string) int {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	return -1
}

var commands []*command

func init() {
	commands = []*command{
		{name: "token", args: "[flags]", summary: "Mint a dashboard or admin token (JWT) signed with the configured auth.jwt_secret, or with --private-key for a public-key setup; it is checked against the configuration before it is printed.", run: cmdToken},
		{name: "checktoken", args: "[--config FILE] [TOKEN]", summary: "Verify a token (the argument, or stdin) as the bridge would, with the configuration's pinned algorithm, issuer, audience and lifetime cap, and print its claims or why it is refused.", run: cmdCheckToken},
		{name: "genconfig", args: "", summary: "Print a YAML configuration with every key, its description and its default.", run: cmdGenConfig},
		{name: "checkconfig", args: "[mqlive flags]", summary: "Load and validate the configuration (--config FILE, MQLIVE_* variables, flags) as `mqlive` would, and print every problem with its key, or a summary.", run: cmdCheckConfig},
		{name: "passwd", args: "[--cost N]", summary: "Read a password from the terminal (asked twice, not echoed) or from the first line of stdin, and print its bcrypt hash for mqtt.users[].password_hash.", run: cmdPasswd},
		{name: "version", args: "", summary: "Print the module version, the VCS revision and the Go version of this build.", run: cmdVersion},
		{name: "help", args: "[COMMAND]", summary: "List the subcommands, or describe one.", run: cmdHelp},
	}
}

func lookup(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

// subcommandsHelp lists the subcommands, for `mqlive help` and --help.
func subcommandsHelp() string {
	var b strings.Builder
	b.WriteString("Subcommands (mqlive help COMMAND for one's flags):\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-12s %s\n", c.name, firstSentence(c.summary))
	}
	b.WriteString("\nWithout a subcommand mqlive runs the bridge.\n")
	return b.String()
}

func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}

func cmdHelp(s *stdio, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(s.out, "Usage: mqlive [COMMAND] [flags]\n\n"+subcommandsHelp())
		return 0
	}
	c := lookup(args[0])
	if c == nil {
		return s.fail("help", 2, "unknown command %q\n\n%s", args[0], subcommandsHelp())
	}
	return c.run(&stdio{env: s.env, in: s.in, out: s.out, err: s.out}, []string{"-h"})
}

// listFlag is a comma-separated list flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	*l = nil
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

// loadConfig loads the configuration as `mqlive --config path` would,
// environment included.
func loadConfig(path string, env []string) (bridge.Config, error) {
	var args []string
	if path != "" {
		args = []string{"--config", path}
	}
	return bridge.Load(args, env)
}

func cmdToken(s *stdio, args []string) int {
	c := lookup("token")
	fs := s.flags(c)
	config := fs.String("config", "", "YAML config file (default: $"+bridge.EnvConfig+"); its auth section gives the key, issuer, audience and lifetime cap")
	sub := fs.String("sub", "", "the token's sub: the user (required)")
	tenant := fs.String("tenant", bridge.DefaultTenant, "the token's tenant")
	ttl := fs.Duration("ttl", time.Hour, "how long the token stays valid (at most auth.max_token_lifetime)")
	var chans, pubs, cmds, api listFlag
	fs.Var(&chans, "chan", "channel patterns it may subscribe to, comma-separated (default: devices, device:*, tag:*, user:<sub>)")
	fs.Var(&pubs, "pub", "channel patterns it may publish to, comma-separated (default: none)")
	fs.Var(&cmds, "cmd", "device patterns it may send commands to, comma-separated (default: none)")
	admin := fs.Bool("admin", false, "an admin token: the monitor channel and, unless --api says otherwise, the whole admin HTTP API")
	fs.Var(&api, "api", "admin HTTP API operations, comma-separated: "+strings.Join(auth.APIOperations, ", "))
	jti := fs.String("jti", "", "token id, so that an admin can revoke this token alone (default: none)")
	privateKey := fs.String("private-key", "", "PEM private key to sign with when auth.public_key_file is configured")
	if code := parse(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		return s.fail(c.name, 2, "unexpected argument %q", fs.Arg(0))
	}
	if *sub == "" {
		return s.fail(c.name, 2, "--sub is required (the user the token is for)")
	}
	cfg, err := loadConfig(*config, s.env)
	if err != nil {
		return s.fail(c.name, 1, "%v", err)
	}
	a := cfg.Auth
	if a.MaxTokenLifetime > 0 && *ttl > a.MaxTokenLifetime {
		return s.fail(c.name, 2, "--ttl %s is longer than auth.max_token_lifetime %s; the bridge would refuse the token", *ttl, a.MaxTokenLifetime)
	}
	var signer *auth.Signer
	switch {
	case *privateKey != "":
		pemBytes, err := os.ReadFile(*privateKey)
		if err != nil {
			return s.fail(c.name, 1, "--private-key: %v", err)
		}
		if signer, err = auth.NewSignerFromPEM(pemBytes); err != nil {
			return s.fail(c.name, 1, "--private-key %s: %v", *privateKey, err)
		}
	case a.JWTSecret != "":
		signer = auth.NewHMACSigner([]byte(a.JWTSecret))
	case a.PublicKeyFile != "":
		return s.fail(c.name, 2, "auth.public_key_file can only verify; sign with --private-key (the matching private key)")
	default:
		return s.fail(c.name, 2, "no auth.jwt_secret configured (dev mode makes a new one each run); set it in the config file or %s", bridge.EnvJWTSecret)
	}
	now := s.now()
	claims := auth.Claims{Tenant: *tenant, Chan: chans, Pub: pubs, Cmd: cmds, Admin: *admin, API: api}
	claims.Subject, claims.ID, claims.Issuer = *sub, *jti, a.Issuer
	claims.IssuedAt, claims.ExpiresAt = jwt.NewNumericDate(now), jwt.NewNumericDate(now.Add(*ttl))
	if a.Audience != "" {
		claims.Audience = []string{a.Audience}
	}
	if *admin && !isSet(fs, "api") {
		claims.API = auth.APIOperations
	}
	if err := claims.Validate(); err != nil {
		return s.fail(c.name, 2, "%v", err)
	}
	tok, err := signer.Sign(claims)
	if err != nil {
		return s.fail(c.name, 1, "%v", err)
	}
	// A token the nodes would refuse (a private key that is not the
	// configured public key's) is worse than none.
	v, err := a.Verifier()
	if err != nil {
		return s.fail(c.name, 1, "%v", err)
	}
	if _, err := v.Verify(tok); err != nil {
		return s.fail(c.name, 1, "the configuration would refuse this token: %v", err)
	}
	fmt.Fprintln(s.out, tok)
	return 0
}

func isSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func cmdCheckToken(s *stdio, args []string) int {
	c := lookup("checktoken")
	fs := s.flags(c)
	config := fs.String("config", "", "YAML config file (default: $"+bridge.EnvConfig+")")
	if code := parse(fs, args); code >= 0 {
		return code
	}
	var tok string
	switch fs.NArg() {
	case 0:
		line, err := bufio.NewReader(io.LimitReader(s.in, auth.MaxTokenBytes+2)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return s.fail(c.name, 1, "read token from stdin: %v", err)
		}
		tok = line
	case 1:
		tok = fs.Arg(0)
	default:
		return s.fail(c.name, 2, "give one token")
	}
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return s.fail(c.name, 2, "no token: give it as the argument or on stdin")
	}
	cfg, err := loadConfig(*config, s.env)
	if err != nil {
		return s.fail(c.name, 1, "%v", err)
	}
	v, err := cfg.Auth.Verifier()
	if err != nil {
		return s.fail(c.name, 1, "%v", err)
	}
	id, verr := v.Verify(tok)
	// The claims are printed even for a refused token (marked so): what
	// is in it is usually why.
	var claims jwt.MapClaims
	if _, _, err := jwt.NewParser().ParseUnverified(tok, &claims); err == nil {
		pretty, _ := json.MarshalIndent(claims, "", "  ")
		defer fmt.Fprintf(s.out, "%s\n", pretty)
	}
	if verr != nil {
		fmt.Fprintf(s.out, "INVALID: %v\n", verr)
		return 1
	}
	fmt.Fprintf(s.out, "VALID %s token: sub %q, tenant %q, admin %v, expires %s (in %s)\n",
		v.Algorithm(), id.User, id.Tenant, id.Admin, id.Expires.Format(time.RFC3339), id.Expires.Sub(s.now()).Round(time.Second))
	return 0
}

func cmdGenConfig(s *stdio, args []string) int {
	c := lookup("genconfig")
	fs := s.flags(c)
	if code := parse(fs, args); code >= 0 {
		return code
	}
	out, err := bridge.GenConfig()
	if err != nil {
		return s.fail(c.name, 1, "%v", err)
	}
	_, _ = s.out.Write(out)
	return 0
}

func cmdCheckConfig(s *stdio, args []string) int {
	c := lookup("checkconfig")
	if len(args) == 1 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		fmt.Fprintf(s.err, "Usage: mqlive checkconfig %s\n\n%s\n\n%s", c.args, c.summary, bridge.Usage())
		return 0
	}
	cfg, err := bridge.Load(args, s.env)
	if err != nil {
		fmt.Fprintf(s.out, "%v\n", err)
		return 1
	}
	broker := "upstream broker " + ingest.RedactURL(cfg.MQTT.URL)
	if cfg.MQTT.URL == "" {
		broker = fmt.Sprintf("embedded broker on %s with %d mqtt.users", cfg.MQTT.Listen, len(cfg.MQTT.Users))
		if len(cfg.MQTT.Users) == 0 {
			broker += " (loopback only, anonymous)"
		}
	}
	sources := fmt.Sprintf("%d sources", len(cfg.Sources))
	if len(cfg.Sources) == 0 {
		sources = "every built-in family (no sources configured)"
	}
	fmt.Fprintf(s.out, "config OK: node %q, http %s, %s, %s, backplane %s\n", cfg.Node, cfg.HTTP.Addr, broker, sources, cfg.Cluster.Backplane)
	for _, w := range cfg.Warnings() {
		fmt.Fprintf(s.out, "warning: %s\n", w)
	}
	return 0
}

// minPasswdCost is the lowest bcrypt cost `mqlive passwd` accepts: lower
// ones make a leaked hash cheap to crack.
const minPasswdCost = bcrypt.DefaultCost

func cmdPasswd(s *stdio, args []string) int {
	c := lookup("passwd")
	fs := s.flags(c)
	cost := fs.Int("cost", bcrypt.DefaultCost, fmt.Sprintf("bcrypt cost, %d to %d; each step doubles the time a CONNECT takes to check", minPasswdCost, bcrypt.MaxCost))
	if code := parse(fs, args); code >= 0 {
		return code
	}
	if fs.NArg() > 0 {
		return s.fail(c.name, 2, "the password is read from the terminal or stdin, never from the command line (where ps shows it)")
	}
	if *cost < minPasswdCost || *cost > bcrypt.MaxCost {
		return s.fail(c.name, 2, "--cost %d is outside %d-%d", *cost, minPasswdCost, bcrypt.MaxCost)
	}
	var pw []byte
	if s.isTerminal() {
		fmt.Fprint(s.err, "Password: ")
		p1, err := s.readPassword()
		fmt.Fprintln(s.err)
		if err != nil {
			return s.fail(c.name, 1, "read password: %v", err)
		}
		fmt.Fprint(s.err, "Again: ")
		p2, err := s.readPassword()
		fmt.Fprintln(s.err)
		if err != nil {
			return s.fail(c.name, 1, "read password: %v", err)
		}
		if !bytes.Equal(p1, p2) {
			return s.fail(c.name, 1, "the passwords differ")
		}
		pw = p1
	} else {
		line, err := bufio.NewReader(io.LimitReader(s.in, 1024)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return s.fail(c.name, 1, "read password from stdin: %v", err)
		}
		pw = []byte(strings.TrimRight(line, "\r\n"))
	}
	if len(pw) == 0 {
		return s.fail(c.name, 2, "empty password")
	}
	if len(pw) > 72 {
		return s.fail(c.name, 2, "password is %d bytes; bcrypt uses at most 72", len(pw))
	}
	h, err := bcrypt.GenerateFromPassword(pw, *cost)
	if err != nil {
		return s.fail(c.name, 1, "%v", err)
	}
	fmt.Fprintln(s.out, string(h))
	return 0
}

func cmdVersion(s *stdio, args []string) int {
	c := lookup("version")
	fs := s.flags(c)
	if code := parse(fs, args); code >= 0 {
		return code
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return s.fail(c.name, 1, "no build information (built without module support)")
	}
	fmt.Fprint(s.out, versionText(bi))
	return 0
}

// versionText describes the build (runtime/debug.ReadBuildInfo): the main
// module's version, which the go command stamps from the VCS tag, and the
// VCS revision.
func versionText(bi *debug.BuildInfo) string {
	var rev, when, modified string
	for _, st := range bi.Settings {
		switch st.Key {
		case "vcs.revision":
			rev = st.Value
		case "vcs.time":
			when = st.Value
		case "vcs.modified":
			if st.Value == "true" {
				modified = " (modified)"
			}
		}
	}
	if rev == "" {
		rev = "unknown (built without VCS information)"
	}
	version := bi.Main.Version
	if version == "" {
		version = "(devel)"
	}
	out := fmt.Sprintf("mqlive %s\nmodule %s\nrevision %s%s\n", version, bi.Main.Path, rev, modified)
	if when != "" {
		out += "committed " + when + "\n"
	}
	return out + bi.GoVersion + "\n"
}

// terminalStdin reads passwords from the process's terminal.
func terminalStdin() (isTerm func() bool, read func() ([]byte, error)) {
	fd := int(os.Stdin.Fd())
	return func() bool { return term.IsTerminal(fd) }, func() ([]byte, error) { return term.ReadPassword(fd) }
}
