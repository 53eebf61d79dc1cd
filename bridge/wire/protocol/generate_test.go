package protocol_test

import (
	"flag"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/wire/protocol"
)

var update = flag.Bool("update", false, "rewrite sdk-js/src/protocol.js and protocol.d.ts")

// jsDir is where the generated module lives, next to the SDK's index.js.
var jsDir = filepath.Join("..", "..", "..", "sdk-js", "src")

// goConst is one exported constant of this package, in source order.
type goConst struct {
	name    string
	value   constant.Value
	section string // the group's comment, on the group's first constant
	doc     string // the constant's own comment
}

// constants type-checks protocol.go, so the values are the compiler's, not
// a reading of the literals.
func constants(t *testing.T) []goConst {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "protocol.go", nil, parser.ParseComments)
	require.NoError(t, err)
	pkg, err := new(types.Config).Check("protocol", fset, []*ast.File{f}, nil)
	require.NoError(t, err, "the protocol package must import nothing")
	var out []goConst
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		require.True(t, ok && gd.Tok == token.CONST, "protocol.go holds constants only (JS mirrors them)")
		section := oneLine(gd.Doc)
		for _, s := range gd.Specs {
			vs := s.(*ast.ValueSpec)
			for _, n := range vs.Names {
				c := pkg.Scope().Lookup(n.Name).(*types.Const)
				require.True(t, c.Exported(), "%s: unexported constants do not belong here", n.Name)
				out = append(out, goConst{name: n.Name, value: c.Val(), section: section, doc: oneLine(vs.Doc)})
				section = ""
			}
		}
	}
	return out
}

func oneLine(cg *ast.CommentGroup) string {
	if cg == nil {
		return ""
	}
	return strings.Join(strings.Fields(cg.Text()), " ")
}

func jsValue(t *testing.T, v constant.Value) string {
	switch v.Kind() {
	case constant.String:
		return "'" + strings.ReplaceAll(constant.StringVal(v), "'", `\'`) + "'"
	case constant.Int:
		n, ok := constant.Int64Val(v)
		require.True(t, ok)
		return strconv.FormatInt(n, 10)
	}
	t.Fatalf("constant of kind %v has no JS form", v.Kind())
	return ""
}

const header = "// Code generated from bridge/wire/protocol/protocol.go by\n" +
	"// `go generate ./bridge/wire/protocol`. DO NOT EDIT.\n" +
	"//\n" +
	"// The mqlive protocol's constants (PROTOCOL.md, mqlive.v1): method and\n" +
	"// notification names, JSON-RPC error codes, WebSocket close codes.\n"

// generate returns protocol.js and protocol.d.ts.
func generate(t *testing.T) (js, dts string) {
	var j, d strings.Builder
	j.WriteString(header)
	d.WriteString(header)
	for _, c := range constants(t) {
		v := jsValue(t, c.value)
		if c.section != "" {
			j.WriteString("\n// " + c.section + "\n")
			d.WriteString("\n// " + c.section + "\n")
		}
		if c.doc != "" {
			j.WriteString("/** " + c.doc + " */\n")
			d.WriteString("/** " + c.doc + " */\n")
		}
		j.WriteString("export const " + c.name + " = " + v + ";\n")
		d.WriteString("export declare const " + c.name + ": " + v + ";\n")
	}
	return j.String(), d.String()
}

// TestJSIsFresh fails when sdk-js/src/protocol.js or protocol.d.ts differs
// from what protocol.go generates: a constant changed on one side only.
// Run `go generate ./bridge/wire/protocol` and commit both files.
func TestJSIsFresh(t *testing.T) {
	js, dts := generate(t)
	files := map[string]string{"protocol.js": js, "protocol.d.ts": dts}
	for name, want := range files {
		path := filepath.Join(jsDir, name)
		if *update {
			require.NoError(t, os.WriteFile(path, []byte(want), 0o644))
			continue
		}
		got, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Equal(t, want, string(got), "sdk-js/src/%s is stale: run `go generate ./bridge/wire/protocol` and commit it", name)
	}
}

// TestSDKExportsProtocol: the SDK's entry points re-export the generated
// module, so pages and tests use the names rather than literal codes.
func TestSDKExportsProtocol(t *testing.T) {
	for _, name := range []string{"index.js", "index.d.ts"} {
		b, err := os.ReadFile(filepath.Join(jsDir, name))
		require.NoError(t, err)
		require.True(t, strings.Contains(string(b), "export * from './protocol.js';"),
			"sdk-js/src/%s must re-export ./protocol.js", name)
	}
}

// TestValues pins the wire values the deployed SDKs and bridges rely on:
// changing one is a protocol change (PROTOCOL.md), not a refactoring.
func TestValues(t *testing.T) {
	require.Equal(t, "mqlive.v1", protocol.Subprotocol)
	require.Equal(t, []int{-32700, -32600, -32601, -32602, -32603, 4001, 4003, 4010, 4029}, []int{
		protocol.CodeParseError, protocol.CodeInvalidRequest, protocol.CodeMethodNotFound,
		protocol.CodeInvalidParams, protocol.CodeInternal, protocol.CodeUnauthorized,
		protocol.CodeForbidden, protocol.CodeTokenExpired, protocol.CodeRateLimited,
	})
	require.Equal(t, []int{1000, 1001, 1008, 1009, 1011, 4001, 4003, 4009, 4010, 4029}, []int{
		protocol.CloseNormal, protocol.CloseGoingAway, protocol.ClosePolicy, protocol.CloseTooBig,
		protocol.CloseInternal, protocol.CloseUnauthorized, protocol.CloseSignedOut,
		protocol.CloseTooSlow, protocol.CloseTokenExpired, protocol.CloseRateLimited,
	})
}
