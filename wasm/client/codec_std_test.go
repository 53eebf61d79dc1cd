//go:build !js

package client

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStdCodecValues(t *testing.T) {
	v, err := StdCodec{}.Parse(`{"s":"x","n":1.5,"b":true,"z":null,"a":[1,"two"],"o":{"k":2,"j":1}}`)
	require.NoError(t, err)
	require.Equal(t, Object, v.Kind())
	require.Equal(t, "x", v.Get("s").Str())
	require.Equal(t, 1.5, v.Get("n").Float())
	require.True(t, v.Get("b").Truth())
	require.Equal(t, Null, v.Get("z").Kind())
	require.Equal(t, Missing, v.Get("nope").Kind())
	require.Equal(t, 2, v.Get("a").Len())
	require.Equal(t, "two", v.Get("a").Index(1).Str())
	require.Equal(t, Missing, v.Get("a").Index(5).Kind())
	require.Equal(t, []string{"j", "k"}, v.Get("o").Keys())
	// Wrong-kind accessors give zero values.
	require.Equal(t, "", v.Get("n").Str())
	require.Zero(t, v.Get("s").Float())
	require.Nil(t, v.Get("a").Keys())

	text, err := StdCodec{}.Stringify(v.Get("o"))
	require.NoError(t, err)
	require.JSONEq(t, `{"k":2,"j":1}`, text)
	text, err = StdCodec{}.Stringify(Wrap([]int{1, 2}))
	require.NoError(t, err)
	require.Equal(t, `[1,2]`, text)

	_, err = StdCodec{}.Parse(`{`)
	require.Error(t, err)
}
