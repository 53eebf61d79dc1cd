package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
	"gopkg.in/yaml.v3"

	"github.com/mqlive/mqlive/bridge"
	"github.com/mqlive/mqlive/bridge/auth"
)

const secret = "cli-test-secret-0123456789abcdef0123456789"

// sh runs `mqlive args…` in process with stdin and the environment env.
func sh(t *testing.T, stdin string, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errs bytes.Buffer
	s := &stdio{env: env, in: strings.NewReader(stdin), out: &out, err: &errs,
		isTerminal: func() bool { return false }, now: time.Now,
		readPassword: func() ([]byte, error) { return nil, errors.New("not a terminal") }}
	code = run(args, s)
	return code, out.String(), errs.String()
}

// writeConfig writes a YAML config and returns its path.
func writeConfig(t *testing.T, yamlText string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "mqlive.yaml")
	require.NoError(t, os.WriteFile(p, []byte(yamlText), 0o600))
	return p
}

func TestTokenAndCheckToken(t *testing.T) {
	cfg := writeConfig(t, "auth:\n  jwt_secret: "+secret+"\n  issuer: ops\n  audience: mqlive\n  max_token_lifetime: 2h\n")
	code, tok, errs := sh(t, "", nil, "token", "--config", cfg, "--sub", "alice", "--tenant", "acme",
		"--chan", "devices,device:plug-*", "--pub", "app:chat", "--cmd", "plug-*", "--ttl", "90m", "--jti", "t1")
	require.Equal(t, 0, code, errs)
	tok = strings.TrimSpace(tok)

	// The bridge's own verifier, built from the same file, accepts it with
	// every claim asked for.
	c, err := bridge.Load([]string{"--config", cfg}, nil)
	require.NoError(t, err)
	v, err := c.Auth.Verifier()
	require.NoError(t, err)
	id, err := v.Verify(tok)
	require.NoError(t, err)
	require.Equal(t, "alice", id.User)
	require.Equal(t, "acme", id.Tenant)
	require.Equal(t, []string{"devices", "device:plug-*"}, id.Chan)
	require.Equal(t, []string{"app:chat"}, id.Pub)
	require.Equal(t, []string{"plug-*"}, id.Cmd)
	require.Equal(t, "t1", id.ID)
	require.False(t, id.Admin)
	require.WithinDuration(t, time.Now().Add(90*time.Minute), id.Expires, 5*time.Second)

	// The token via stdin and as the argument.
	code, out, _ := sh(t, tok+"\n", nil, "checktoken", "--config", cfg)
	require.Equal(t, 0, code, out)
	require.Contains(t, out, `VALID HS256 token: sub "alice", tenant "acme"`)
	require.Contains(t, out, `"iss": "ops"`)
	code, out, _ = sh(t, "", []string{bridge.EnvConfig + "=" + cfg}, "checktoken", tok)
	require.Equal(t, 0, code, out)

	// An admin token carries the whole admin API unless --api narrows it.
	code, tok2, errs := sh(t, "", nil, "token", "--config", cfg, "--sub", "ops", "--admin")
	require.Equal(t, 0, code, errs)
	id, err = v.Verify(strings.TrimSpace(tok2))
	require.NoError(t, err)
	require.True(t, id.Admin)
	require.True(t, id.CanAPI(auth.APIRevoke))

	// Refusals, each with its reason.
	code, _, errs = sh(t, "", nil, "token", "--config", cfg, "--sub", "a", "--ttl", "3h")
	require.Equal(t, 2, code)
	require.Contains(t, errs, "max_token_lifetime")
	code, _, errs = sh(t, "", nil, "token", "--config", cfg, "--tenant", "acme")
	require.Equal(t, 2, code)
	require.Contains(t, errs, "--sub is required")
	code, _, errs = sh(t, "", nil, "token", "--config", cfg, "--sub", "a", "--tenant", "Not A Tenant")
	require.Equal(t, 2, code)
	require.Contains(t, errs, "tenant")

	// A tampered token, one for another audience, and an expired one are
	// refused with the reason.
	tampered := tok[:len(tok)-2] + map[bool]string{true: "AA", false: "BB"}[!strings.HasSuffix(tok, "AA")]
	code, out, _ = sh(t, "", nil, "checktoken", "--config", cfg, tampered)
	require.Equal(t, 1, code)
	require.Contains(t, out, "INVALID")
	other := writeConfig(t, "auth:\n  jwt_secret: "+secret+"\n  issuer: ops\n  audience: elsewhere\n")
	code, out, _ = sh(t, "", nil, "checktoken", "--config", other, tok)
	require.Equal(t, 1, code)
	require.Contains(t, out, "aud")
	expired, err := auth.NewHMACSigner([]byte(secret)).Sign(func() auth.Claims {
		cl := auth.DevClaims("old", "acme", time.Minute)
		cl.Issuer, cl.Audience = "ops", []string{"mqlive"}
		cl.IssuedAt.Time = time.Now().Add(-time.Hour)
		cl.ExpiresAt.Time = time.Now().Add(-time.Minute)
		return cl
	}())
	require.NoError(t, err)
	code, out, _ = sh(t, "", nil, "checktoken", "--config", cfg, expired)
	require.Equal(t, 1, code)
	require.Contains(t, out, "expired")
	require.Contains(t, out, `"sub": "old"`, "the claims of a refused token are shown")
}

func TestTokenWithPrivateKey(t *testing.T) {
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	priv := filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600))
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pub.pem"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o600))
	cfg := filepath.Join(dir, "mqlive.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte("auth:\n  public_key_file: pub.pem\n  issuer: i\n  audience: a\n"), 0o600))

	code, _, errs := sh(t, "", nil, "token", "--config", cfg, "--sub", "u")
	require.Equal(t, 2, code)
	require.Contains(t, errs, "--private-key")
	code, tok, errs := sh(t, "", nil, "token", "--config", cfg, "--sub", "u", "--private-key", priv)
	require.Equal(t, 0, code, errs)
	code, out, _ := sh(t, "", nil, "checktoken", "--config", cfg, strings.TrimSpace(tok))
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "VALID ES256 token")

	// A key that is not the configured one's: refused before printing.
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err = x509.MarshalPKCS8PrivateKey(other)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600))
	code, tok, errs = sh(t, "", nil, "token", "--config", cfg, "--sub", "u", "--private-key", priv)
	require.Equal(t, 1, code)
	require.Empty(t, tok)
	require.Contains(t, errs, "would refuse")
}

func TestGenConfigAndCheckConfig(t *testing.T) {
	code, gen, errs := sh(t, "", nil, "genconfig")
	require.Equal(t, 0, code, errs)
	var doc map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(gen), &doc))
	require.Contains(t, doc, "mqtt")

	env := []string{bridge.EnvJWTSecret + "=" + secret}
	code, out, _ := sh(t, "", env, "checkconfig", "--config", writeConfig(t, gen))
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "config OK")
	require.Contains(t, out, "loopback only")

	// Problems are listed with their key paths.
	bad := writeConfig(t, "http:\n  adr: \":8080\"\nmqtt:\n  users:\n    - username: dev\n      password_hash: hunter2\n")
	code, out, _ = sh(t, "", env, "checkconfig", "--config", bad)
	require.Equal(t, 1, code)
	require.Contains(t, out, "http.adr")
	require.Contains(t, out, `did you mean "addr"`)
	bad = writeConfig(t, "mqtt:\n  users:\n    - username: dev\n      password_hash: hunter2\n      tenant: acme\n      publish: [\"a/#/b\"]\n")
	code, out, _ = sh(t, "", env, "checkconfig", "--config", bad)
	require.Equal(t, 1, code)
	require.Contains(t, out, "mqtt.users[0]: password_hash is not a bcrypt hash")
	code, out, _ = sh(t, "", nil, "checkconfig")
	require.Equal(t, 1, code)
	require.Contains(t, out, "jwt_secret")
}

func TestPasswd(t *testing.T) {
	code, out, errs := sh(t, "correct horse\n", nil, "passwd")
	require.Equal(t, 0, code, errs)
	h := strings.TrimSpace(out)
	require.NoError(t, bcrypt.CompareHashAndPassword([]byte(h), []byte("correct horse")))
	cost, err := bcrypt.Cost([]byte(h))
	require.NoError(t, err)
	require.Equal(t, bcrypt.DefaultCost, cost)
	// The hash is what mqtt.users accepts.
	env := []string{bridge.EnvJWTSecret + "=" + secret}
	code, out, _ = sh(t, "", env, "checkconfig", "--config", writeConfig(t, "mqtt:\n  users:\n    - username: dev\n      password_hash: "+h+"\n      tenant: default\n      publish: [\"zigbee2mqtt/#\"]\n"))
	require.Equal(t, 0, code, out)
	require.Contains(t, out, "with 1 mqtt.users")

	code, _, errs = sh(t, "x\n", nil, "passwd", "hunter2")
	require.Equal(t, 2, code)
	require.Contains(t, errs, "never from the command line")
	code, _, _ = sh(t, "\n", nil, "passwd")
	require.Equal(t, 2, code, "empty password")
	code, _, _ = sh(t, "x\n", nil, "passwd", "--cost", "4")
	require.Equal(t, 2, code, "a cheap cost")

	// On a terminal it asks twice, and refuses two different answers.
	answers := [][]byte{[]byte("one"), []byte("two")}
	var out2, errs2 bytes.Buffer
	s := &stdio{in: strings.NewReader(""), out: &out2, err: &errs2, now: time.Now, isTerminal: func() bool { return true },
		readPassword: func() ([]byte, error) { a := answers[0]; answers = answers[1:]; return a, nil }}
	require.Equal(t, 1, run([]string{"passwd"}, s))
	require.Contains(t, errs2.String(), "differ")
}

func TestVersion(t *testing.T) {
	code, out, _ := sh(t, "", nil, "version")
	require.Equal(t, 0, code)
	require.Contains(t, out, "module github.com/mqlive/mqlive")
	require.Contains(t, out, "go1.")

	txt := versionText(&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/mqlive/mqlive", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "abc123"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}})
	require.Equal(t, "mqlive v1.2.3\nmodule github.com/mqlive/mqlive\nrevision abc123 (modified)\ncommitted 2026-12-01T10:00:00Z\ngo1.26.8\n", txt)
}

func TestHelp(t *testing.T) {
	code, out, _ := sh(t, "", nil, "help")
	require.Equal(t, 0, code)
	for _, c := range []string{"token", "checktoken", "genconfig", "checkconfig", "passwd", "version"} {
		require.Contains(t, out, "\n  "+c+" ")
	}
	code, out, _ = sh(t, "", nil, "help", "passwd")
	require.Equal(t, 0, code)
	require.Contains(t, out, "-cost")
	// Without a subcommand the flags are the bridge's, as before.
	code, out, _ = sh(t, "", nil, "--help")
	require.Equal(t, 0, code)
	require.Contains(t, out, "-mqtt-listen")
	require.Contains(t, out, "Subcommands")
	code, _, errs := sh(t, "", nil, "frobnicate")
	require.Equal(t, 2, code)
	require.Contains(t, errs, "mqlive help")
}
