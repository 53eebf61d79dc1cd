package bridge

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestGenConfigHasEveryField walks every field reachable from Config
// (nested structs, list entries, optional blocks) and requires its key in
// the generated file, and a doc comment on every field declared in this
// package: a new field appears with its comment without anyone editing the
// generator.
func TestGenConfigHasEveryField(t *testing.T) {
	out, err := GenConfig()
	require.NoError(t, err)
	docs, err := fieldDocs()
	require.NoError(t, err)
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type, path string)
	walk = func(typ reflect.Type, path string) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || isLeaf(typ) || seen[typ] {
			return
		}
		seen[typ] = true
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			name, inline, ok := yamlKey(f)
			if !ok {
				continue
			}
			if !inline {
				key := join(path, name)
				require.Regexp(t, regexp.MustCompile(`(?m)^[ #]*`+regexp.QuoteMeta(name)+`:`), string(out), "key %s missing", key)
				if typ.PkgPath() == configType.PkgPath() {
					require.NotEmpty(t, docs[typ.Name()+"."+f.Name], "field %s.%s (%s) has no doc comment", typ.Name(), f.Name, key)
				}
				walk(f.Type, key)
				continue
			}
			walk(f.Type, path)
		}
	}
	walk(configType, "")
	require.True(t, seen[reflect.TypeFor[MQTTUser]()], "mqtt.users entries were not walked")
	require.True(t, seen[reflect.TypeFor[SourceConfig]()], "sources entries were not walked")
}

// TestGenConfigParsesToDefaults loads the generated file as a user would
// (through Load, with only a secret from the environment) and requires the
// defaults.
func TestGenConfigParsesToDefaults(t *testing.T) {
	out, err := GenConfig()
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "mqlive.yaml")
	require.NoError(t, os.WriteFile(path, out, 0o600))
	const secret = "genconfig-test-secret-0123456789abcdef"
	got, err := Load([]string{"--config", path}, []string{EnvJWTSecret + "=" + secret})
	require.NoError(t, err)
	want := DefaultConfig()
	want.Auth.JWTSecret = secret
	// "key: []" reads as an empty list where the default is nil; the
	// config treats both alike (len 0).
	nilEmpty(reflect.ValueOf(&got).Elem())
	require.Equal(t, want, got)
}

// nilEmpty sets every empty slice and map reachable from v to nil.
func nilEmpty(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				nilEmpty(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Map:
		if v.Len() == 0 && !v.IsNil() {
			v.SetZero()
		}
		if v.Kind() == reflect.Slice {
			for i := 0; i < v.Len(); i++ {
				nilEmpty(v.Index(i))
			}
		}
	case reflect.Pointer:
		if !v.IsNil() {
			nilEmpty(v.Elem())
		}
	}
}
