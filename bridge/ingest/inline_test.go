package ingest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/mqlive/mqlive/devices"
)

// fakeBroker is an in-process broker reduced to what Inline uses: deliver
// stands for a publisher's goroutine handing over a message.
type fakeBroker struct {
	mu        sync.Mutex
	filters   []string
	h         func(topic string, payload []byte, retained bool)
	published []string
	closed    int
}

func (f *fakeBroker) Subscribe(filters []string, h func(string, []byte, bool)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.filters, f.h = filters, h
	return nil
}

func (f *fakeBroker) Publish(topic string, payload []byte, qos byte, retain bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.published = append(f.published, topic+" "+string(payload))
	return nil
}

func (f *fakeBroker) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed++
	return nil
}

func (f *fakeBroker) deliver(topic string, payload []byte, retained bool) {
	f.mu.Lock()
	h := f.h
	f.mu.Unlock()
	h(topic, payload, retained)
}

// runInline runs in until the returned stop is called; stop returns Run's
// error.
func runInline(t *testing.T, in *Inline) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	require.Eventually(t, in.Connected, 5*time.Second, time.Millisecond)
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// The subscription is made in NewInline (before the broker serves); a
// message handed over before Run waits for it instead of being lost; each
// Message owns its payload and carries the retained flag it came with.
func TestInlineDeliversFromNewOn(t *testing.T) {
	br := &fakeBroker{}
	got := make(chan devices.Message, 4)
	in, err := NewInline(InlineConfig{Broker: br, Filters: []string{"zigbee2mqtt/#"}, Logger: quietLogger()}, func(m devices.Message) { got <- m })
	require.NoError(t, err)
	require.Equal(t, []string{"zigbee2mqtt/#"}, br.filters)
	require.False(t, in.Connected())
	require.ErrorIs(t, in.Publish(context.Background(), "a", nil, 1, false), ErrNotConnected)

	payload := []byte(`{"state":"ON"}`)
	early := make(chan struct{})
	go func() { br.deliver("zigbee2mqtt/lamp/availability", []byte("online"), true); close(early) }()
	select {
	case <-early:
		t.Fatal("a message was handed to the Handler before Run")
	case <-time.After(50 * time.Millisecond):
	}
	runInline(t, in)
	<-early
	br.deliver("zigbee2mqtt/lamp", payload, false)
	payload[2] = 'X' // the broker's buffer; the Message has its own copy

	m := <-got
	require.Equal(t, "zigbee2mqtt/lamp/availability", m.Topic)
	require.True(t, m.Retained)
	m = <-got
	require.Equal(t, "zigbee2mqtt/lamp", m.Topic)
	require.Equal(t, `{"state":"ON"}`, string(m.Payload))
	require.False(t, m.Retained)
	require.False(t, m.Duplicate)
	require.WithinDuration(t, time.Now(), m.ReceivedAt, 5*time.Second)

	require.NoError(t, in.Publish(context.Background(), "zigbee2mqtt/lamp/set", []byte(`{"state":"OFF"}`), 1, false))
	require.Equal(t, []string{`zigbee2mqtt/lamp/set {"state":"OFF"}`}, br.published)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, in.Publish(ctx, "zigbee2mqtt/lamp/set", nil, 1, false), context.Canceled)
	require.Equal(t, Stats{Connects: 1, Received: 2}, in.Stats())
}

// Stopping waits for the Handler calls in progress, then closes the
// broker; a message handed over after that is counted as dropped, never
// passed on, and a Handler that panics is recovered and counted.
func TestInlineStopWaitsAndCountsDropped(t *testing.T) {
	br := &fakeBroker{}
	entered, release := make(chan struct{}), make(chan struct{})
	var handled []string
	var mu sync.Mutex
	in, err := NewInline(InlineConfig{Broker: br, Filters: []string{"#"}, Logger: quietLogger()}, func(m devices.Message) {
		if m.Topic == "panic" {
			panic("decoder bug")
		}
		if m.Topic == "slow" {
			close(entered)
			<-release
		}
		mu.Lock()
		handled = append(handled, m.Topic)
		mu.Unlock()
	})
	require.NoError(t, err)
	stop := runInline(t, in)
	br.deliver("panic", nil, false)

	go br.deliver("slow", nil, false)
	<-entered
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	select {
	case <-stopped:
		t.Fatal("Run returned while a Handler call was in progress")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	require.NoError(t, <-stopped)
	require.False(t, in.Connected())
	require.Equal(t, 1, br.closed)

	br.deliver("late", nil, false)
	mu.Lock()
	require.Equal(t, []string{"slow"}, handled)
	mu.Unlock()
	require.Equal(t, Stats{Connects: 1, Received: 2, HandlerPanics: 1, Dropped: 1}, in.Stats())
	require.ErrorIs(t, in.Run(context.Background()), ErrAlreadyRun)
	require.ErrorIs(t, in.Publish(context.Background(), "a", nil, 1, false), ErrNotConnected)
}

func TestNewInlineRefusesBadConfig(t *testing.T) {
	h := func(devices.Message) {}
	_, err := NewInline(InlineConfig{Filters: []string{"#"}}, h)
	require.Error(t, err)
	_, err = NewInline(InlineConfig{Broker: &fakeBroker{}}, h)
	require.Error(t, err)
	_, err = NewInline(InlineConfig{Broker: &fakeBroker{}, Filters: []string{"#"}}, nil)
	require.Error(t, err)
}
