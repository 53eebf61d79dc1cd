package embedded

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/stretchr/testify/require"
)

type inlineMsg struct {
	topic, payload string
	retained       bool
}

// inlineRecorder collects what an inline subscription receives.
type inlineRecorder struct {
	mu  sync.Mutex
	got []inlineMsg
}

func (r *inlineRecorder) handle(topic string, payload []byte, retained bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, inlineMsg{topic, string(payload), retained})
}

// waitFor returns the messages once there are n of them, and fails after
// 5 s.
func (r *inlineRecorder) waitFor(t *testing.T, n int) []inlineMsg {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.mu.Lock()
		got := append([]inlineMsg(nil), r.got...)
		r.mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			require.Len(t, got, n, "%+v", got)
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A subscription made before Run gets the retained messages loaded from
// DataDir once, with their flag, even under two filters that both cover
// them; live messages come once each, with retained false even when their
// publisher set it (as an MQTT 3.1.1 subscriber sees them).
func TestInlineSubscribeBeforeRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	b, stop := runBroker(t, Config{DataDir: dir})
	pub := connect(t, b.URL(), "tasmota_plug")
	wait(t, pub.Publish("tele/plug/LWT", 1, true, []byte("Online")))
	pub.Disconnect(100)
	stop()

	b, err := New(Config{Listen: "127.0.0.1:0", Logger: quietLogger(), DataDir: dir})
	require.NoError(t, err)
	var rec inlineRecorder
	require.NoError(t, b.Subscribe([]string{"tele/#", "tele/+/LWT"}, rec.handle))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	require.Equal(t, []inlineMsg{{"tele/plug/LWT", "Online", true}}, rec.waitFor(t, 1))

	pub = connect(t, b.URL(), "tasmota_plug")
	wait(t, pub.Publish("tele/plug/LWT", 1, true, []byte("Offline")))
	wait(t, pub.Publish("tele/plug/SENSOR", 0, false, []byte(`{"Temp":21}`)))
	wait(t, pub.Publish("other/plug", 1, false, []byte("x"))) // no filter covers it
	require.Equal(t, []inlineMsg{
		{"tele/plug/LWT", "Online", true},
		{"tele/plug/LWT", "Offline", false},
		{"tele/plug/SENSOR", `{"Temp":21}`, false},
	}, rec.waitFor(t, 3))
}

// A subscription made while serving replays the retained messages before
// Subscribe returns; Publish reaches MQTT subscribers and inline ones.
func TestInlineSubscribeWhileServingAndPublish(t *testing.T) {
	b := startBroker(t)
	require.ErrorIs(t, (&Broker{}).Publish("x", nil, 1, false), ErrNotServing)
	pub := connect(t, b.URL(), "plug")
	wait(t, pub.Publish("shellies/plug/online", 1, true, []byte("true")))

	var rec inlineRecorder
	require.NoError(t, b.Subscribe([]string{"shellies/#"}, rec.handle))
	rec.mu.Lock()
	require.Equal(t, []inlineMsg{{"shellies/plug/online", "true", true}}, rec.got, "retained not replayed before Subscribe returned")
	rec.mu.Unlock()

	got := make(chan paho.Message, 1)
	dev := connect(t, b.URL(), "device")
	wait(t, dev.Subscribe("shellies/plug/relay/0/command", 1, func(_ paho.Client, m paho.Message) { got <- m }))
	require.NoError(t, b.Publish("shellies/plug/relay/0/command", []byte("on"), 1, false))
	select {
	case m := <-got:
		require.Equal(t, "on", string(m.Payload()))
		require.False(t, m.Retained())
	case <-time.After(5 * time.Second):
		t.Fatal("the device did not receive the published command")
	}
	require.Equal(t, inlineMsg{"shellies/plug/relay/0/command", "on", false}, rec.waitFor(t, 2)[1])
	require.Error(t, b.Publish("x", nil, 3, false))
}

func TestInlineSubscribeRefusesBadInput(t *testing.T) {
	b := startBroker(t)
	h := func(string, []byte, bool) {}
	require.Error(t, b.Subscribe(nil, h))
	require.Error(t, b.Subscribe([]string{"a/#"}, nil))
	require.Error(t, b.Subscribe([]string{"a/#/b"}, h))
	require.NoError(t, b.Close())
	require.ErrorIs(t, b.Subscribe([]string{"a/#"}, h), ErrNotServing)
	require.ErrorIs(t, b.Publish("a/b", nil, 0, false), ErrNotServing)
}

// TestInlineWildcardSkipsDollarTopics: "#" does not match topics that
// begin with "$" ([MQTT-4.7.2-1]), as for an MQTT client, though mochi
// hands them to inline subscriptions; a filter that names "$..." does.
func TestInlineWildcardSkipsDollarTopics(t *testing.T) {
	b := startBroker(t)
	var wild, named inlineRecorder
	require.NoError(t, b.Subscribe([]string{"#"}, wild.handle))
	require.NoError(t, b.Subscribe([]string{"+/x", "$app/#"}, named.handle))
	connect(t, b.URL(), "sync").Disconnect(0) // the broker serves
	require.NoError(t, b.Publish("$app/x", []byte("1"), 0, false))
	require.NoError(t, b.Publish("dev/x", []byte("2"), 0, false))
	require.Equal(t, []inlineMsg{{"dev/x", "2", false}}, wild.waitFor(t, 1))
	require.Equal(t, []inlineMsg{{"$app/x", "1", false}, {"dev/x", "2", false}}, named.waitFor(t, 2))
}
