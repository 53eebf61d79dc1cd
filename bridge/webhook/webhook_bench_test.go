package webhook_test

import (
	"testing"

	"github.com/mqlive/mqlive/bridge/webhook"
)

// The hooks run on the ingest path: what one call costs there.

func benchDispatcher(b *testing.B) *webhook.Dispatcher {
	d, err := webhook.New(webhook.Config{Endpoints: []webhook.Endpoint{{Name: "wh", URL: "http://127.0.0.1:1/", Secret: secret,
		Tenants: []string{"acme"}, QueueSize: 16}}})
	if err != nil {
		b.Fatal(err)
	}
	return d // not run: the queue stays full, the worst case of Emit
}

// BenchmarkWantsOtherTenant is the cost for a tenant no webhook wants.
func BenchmarkWantsOtherTenant(b *testing.B) {
	d := benchDispatcher(b)
	b.ReportAllocs()
	for b.Loop() {
		if d.Wants("globex", webhook.EventDeviceOffline) {
			b.Fatal("wanted")
		}
	}
}

// BenchmarkRejected counts one rejected message toward its burst.
func BenchmarkRejected(b *testing.B) {
	d := benchDispatcher(b)
	b.ReportAllocs()
	for b.Loop() {
		d.Rejected("acme", "tasmota", "tele", "invalid_json")
	}
}

// BenchmarkEmitQueueFull queues an event into a full queue (dropping the
// oldest): a receiver that hangs.
func BenchmarkEmitQueueFull(b *testing.B) {
	d := benchDispatcher(b)
	data := webhook.DeviceData{Device: "kitchen"}
	b.ReportAllocs()
	for b.Loop() {
		d.Emit("acme", webhook.EventDeviceOffline, data)
	}
}
