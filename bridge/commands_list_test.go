package bridge_test

import (
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/bridge/auth"
	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/bridge/wire"
)

// TestCommandsListedBySendable: `commands` lists what a device's family
// accepts, and sending a listed entry as it is (name and args) reaches the
// broker as the family's message: the page never encodes topics itself.
// Another tenant's device is unknown; a token without cmd sees the same
// list with allowed=false.
func TestCommandsListedBySendable(t *testing.T) {
	b := bridgetest.Start(t, twoTenants)
	got := observeBroker(t, b.MQTTURL, "observer-list", map[string]byte{"acme/cmnd/#": 1})

	b.Publish(t, "acme/tele/plug-2/STATE", []byte(`{"Time":"2026-11-23T17:00:00","POWER1":"OFF","POWER2":"ON"}`))
	c := bridgetest.Dial(t, b.WSURL)
	c.Connect(b.Token(t, "alice", "acme", func(c *auth.Claims) { c.Cmd = []string{"plug-*"} }))
	var res wire.CommandsResult
	bridgetest.Eventually(t, 5*time.Second, func() error {
		if _, rerr := c.Call("commands", wire.CommandsParams{Device: "plug-2"}); rerr != nil {
			return errorf("commands: %v", rerr.Message)
		}
		c.MustCall("commands", wire.CommandsParams{Device: "plug-2"}, &res)
		if len(res.Commands) != 6 {
			return errorf("commands listed: %d", len(res.Commands))
		}
		return nil
	})
	require.Equal(t, "tasmota", res.Family)
	require.True(t, res.Allowed)
	var toggle2 wire.CommandSpec
	for _, cmd := range res.Commands {
		if cmd.Output == "power2.state" && cmd.Label == "Toggle" {
			toggle2 = cmd
		}
	}
	require.Equal(t, "Power2", toggle2.Name)
	c.MustCall("command", wire.CommandParams{Device: "plug-2", Name: toggle2.Name, Args: toggle2.Args}, nil)
	select {
	case m := <-got:
		require.Equal(t, "acme/cmnd/plug-2/Power2", m.Topic())
		require.Equal(t, "TOGGLE", string(m.Payload()))
	case <-time.After(5 * time.Second):
		t.Fatal("the listed command did not reach the broker")
	}

	viewer := bridgetest.Dial(t, b.WSURL)
	viewer.Connect(b.Token(t, "bob", "acme"))
	var vres wire.CommandsResult
	viewer.MustCall("commands", wire.CommandsParams{Device: "plug-2"}, &vres)
	require.False(t, vres.Allowed)
	require.Equal(t, res.Commands, vres.Commands)

	other := bridgetest.Dial(t, b.WSURL)
	other.Connect(b.Token(t, "eve", "globex", func(c *auth.Claims) { c.Cmd = []string{"*"} }))
	_, rerr := other.Call("commands", wire.CommandsParams{Device: "plug-2"})
	require.NotNil(t, rerr)
	require.Equal(t, wire.CodeInvalidParams, rerr.Code, "another tenant's device is unknown")
	_, rerr = c.Call("commands", wire.CommandsParams{})
	require.Equal(t, wire.CodeInvalidParams, rerr.Code)
}

// observeBroker subscribes a paho client to filters on the broker and
// returns the messages it receives; it disconnects when the test ends.
func observeBroker(t *testing.T, url, id string, filters map[string]byte) <-chan paho.Message {
	t.Helper()
	got := make(chan paho.Message, 10)
	sub := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID(id))
	tok := sub.Connect()
	require.True(t, tok.WaitTimeout(5*time.Second))
	require.NoError(t, tok.Error())
	t.Cleanup(func() { sub.Disconnect(100) })
	tok = sub.SubscribeMultiple(filters, func(_ paho.Client, m paho.Message) { got <- m })
	require.True(t, tok.WaitTimeout(5*time.Second))
	require.NoError(t, tok.Error())
	return got
}
