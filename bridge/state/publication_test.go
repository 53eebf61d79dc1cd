package state

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/wire"
	"github.com/mqlive/mqlive/devices"
)

func TestNewPublicationBuildsItsFrame(t *testing.T) {
	r := &devices.Reading{Device: "a"}
	now := time.Now()
	p := NewPublication("device:a", "ep", 9, []byte(`{"device":"a"}`), r, now)
	require.Equal(t, wire.Publication{Channel: "device:a", Epoch: "ep", Offset: 9, Data: json.RawMessage(`{"device":"a"}`)}, p.Publication)
	require.Same(t, r, p.Reading)
	require.Equal(t, now, p.Time)
	want, err := json.Marshal(wire.Notification{JSONRPC: "2.0", Method: wire.MethodMessage, Params: p.Publication})
	require.NoError(t, err)
	require.JSONEq(t, string(want), string(p.Frame))
}
