package bridge_test

import (
	"bytes"
	"flag"
	"fmt"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mqlive/mqlive/bridge"
	"github.com/mqlive/mqlive/bridge/bridgetest"
	"github.com/mqlive/mqlive/devices"
)

// fleetDevices sizes the fleet of the fleet benchmarks; the issue's
// target is the default max_devices of 100,000 per tenant.
var (
	fleetDevices = flag.Int("fleet.devices", 100000, "devices of BenchmarkFleetIngest and BenchmarkFleetIdle")
	fleetRate    = flag.Int("fleet.rate", 50000, "messages/s BenchmarkFleetIngestMQTT and BenchmarkFleetIngestDevices offer")
	fleetConns   = flag.Int("fleet.conns", 2000, "device connections of BenchmarkFleetIngestDevices")
)

// fleetPayload is a zigbee2mqtt state of about the size the simulator
// sends; i keeps every payload distinct (no dedup) and varies the values.
func fleetPayload(i int) []byte {
	return []byte(`{"temperature":` + strconv.Itoa(15+i%20) + `.` + strconv.Itoa(i%10) +
		`,"humidity":` + strconv.Itoa(30+i%40) + `.2,"pressure":1013.` + strconv.Itoa(i%10) +
		`,"battery":97,"voltage":` + strconv.Itoa(2900+i%100) + `,"linkquality":120,"seq":` + strconv.Itoa(i) + `}`)
}

// BenchmarkFleetIngest ingests b.N messages round robin over a fleet of
// -fleet.devices zigbee2mqtt devices through the real pipeline (route,
// dedup, decode, merge, append to devices and device:<id>, metrics), with
// no dashboard connected, and reports the CPU per message (ns/msg) and
// the live heap per device once a GC has run (B/device), with pubs/device
// the history each device's channel holds. -benchtime 10000000x fills
// every device's default history of 100 at 100,000 devices.
func BenchmarkFleetIngest(b *testing.B) {
	n := *fleetDevices
	br := bridgetest.Start(b, func(c *bridge.Config) {
		// Full histories for every device: the figure is the cost per
		// device of the default history, not of the tenant byte budget.
		c.State.MaxTenantBytes = 1 << 40
		c.State.MaxDevices = max(n, bridge.DefaultMaxDevices)
	})
	topics := make([]string, n)
	for i := range topics {
		topics[i] = "zigbee2mqtt/fleet-" + strconv.Itoa(i)
	}
	heap0 := liveHeap()
	cpu0 := cpuTime()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		bridge.HandleMessage(br.Bridge, devices.Message{Topic: topics[i%n], Payload: fleetPayload(i), ReceivedAt: time.Now()})
	}
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	heap := liveHeap() - heap0
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/msg")
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(heap)/float64(min(n, b.N)), "B/device")
	b.ReportMetric(float64(min(b.N/n, 100)), "pubs/device")
}

// BenchmarkFleetIngestMQTT is the same fleet through the embedded broker:
// 50 MQTT publishers (QoS 0) offer b.N messages over 10,000 device topics
// at -fleet.rate messages/s in all, and the bridge ingests them from its
// MQTT subscription. It reports the messages/s ingested, the share of the
// offered messages ingested (the broker drops QoS 0 messages a slow
// subscriber has no room for) and the CPU of the whole process (broker,
// publishers and bridge) per message ingested.
func BenchmarkFleetIngestMQTT(b *testing.B) {
	const publishers, topicsN, tick = 50, 10000, 10 * time.Millisecond
	br := bridgetest.Start(b)
	clients := make([]paho.Client, publishers)
	for i := range clients {
		opts := paho.NewClientOptions().AddBroker(br.MQTTURL).SetClientID(fmt.Sprintf("fleet-pub-%d-%d", i, time.Now().UnixNano()))
		c := paho.NewClient(opts)
		if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			b.Fatalf("connect: %v", tok.Error())
		}
		clients[i] = c
		b.Cleanup(func() { c.Disconnect(0) })
	}
	ingested := func() float64 {
		return testutil.ToFloat64(bridge.MetricsOf(br.Bridge).IngestMessages.WithLabelValues("zigbee2mqtt", bridge.DefaultTenant, "decoded"))
	}
	perTick := max(1, *fleetRate*int(tick/time.Millisecond)/1000/publishers)
	base := ingested()
	cpu0 := cpuTime()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for p := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(tick)
			defer t.Stop()
			for i := p; i < b.N; {
				for k := 0; k < perTick && i < b.N; k++ {
					clients[p].Publish("zigbee2mqtt/fleet-"+strconv.Itoa(i%topicsN), 0, false, fleetPayload(i))
					i += publishers
				}
				<-t.C
			}
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(time.Minute)
	// QoS 0 may drop under overload: wait until ingest stops moving.
	last, still := ingested(), 0
	for ingested()-base < float64(b.N) && time.Now().Before(deadline) && still < 20 {
		time.Sleep(50 * time.Millisecond)
		if v := ingested(); v == last {
			still++
		} else {
			last, still = v, 0
		}
	}
	got := ingested() - base
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	b.ReportMetric(got/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/got, "cpu-ns/msg")
	b.ReportMetric(got/float64(b.N), "delivered-ratio")
}

// BenchmarkFleetIngestDevices is the embedded broker's ingest at fleet
// scale with a generator that costs next to nothing: -fleet.conns devices,
// each on its own TCP connection, send b.N QoS 0 messages over their own
// topics at -fleet.rate messages/s in all, one message per write as a
// device sends it. The packets are encoded before the timer starts (paho's
// packet codec) and written by four goroutines, so the process's CPU is
// the broker's reading and the bridge's pipeline, plus one write system
// call per message (which on loopback also runs the receiving side of
// TCP). It reports the messages/s ingested and the CPU of the whole process
// per message. Where FleetIngestMQTT's 50 paho publishers take a third of
// the CPU, this shows the node's ceiling.
func BenchmarkFleetIngestDevices(b *testing.B) {
	const senders, tick = 4, 10 * time.Millisecond
	br := bridgetest.Start(b)
	n := min(*fleetConns, b.N)
	conns := make([]net.Conn, n)
	addr := strings.TrimPrefix(br.MQTTURL, "tcp://")
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = c.Close() })
		cp := packets.NewControlPacket(packets.Connect).(*packets.ConnectPacket)
		cp.ProtocolName, cp.ProtocolVersion, cp.CleanSession = "MQTT", 4, true
		cp.ClientIdentifier, cp.Keepalive = fmt.Sprintf("fleet-dev-%d-%d", i, time.Now().UnixNano()), 600
		if err := cp.Write(c); err != nil {
			b.Fatal(err)
		}
		ack, err := packets.ReadPacket(c)
		if ca, ok := ack.(*packets.ConnackPacket); err != nil || !ok || ca.ReturnCode != 0 {
			b.Fatalf("connect: %v %v", ack, err)
		}
		conns[i] = c
	}
	// Message i goes from device i%n, on its own topic.
	msgs := make([][]byte, b.N)
	var buf bytes.Buffer
	for i := range msgs {
		pp := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
		pp.TopicName, pp.Payload = "zigbee2mqtt/fleet-"+strconv.Itoa(i%n), fleetPayload(i)
		buf.Reset()
		if err := pp.Write(&buf); err != nil {
			b.Fatal(err)
		}
		msgs[i] = bytes.Clone(buf.Bytes())
	}
	ingested := func() float64 {
		return testutil.ToFloat64(bridge.MetricsOf(br.Bridge).IngestMessages.WithLabelValues("zigbee2mqtt", bridge.DefaultTenant, "decoded"))
	}
	perTick := max(1, *fleetRate*int(tick/time.Millisecond)/1000/senders)
	base := ingested()
	cpu0 := cpuTime()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(tick)
			defer t.Stop()
			for i := s; i < b.N; {
				for k := 0; k < perTick && i < b.N; k++ {
					if _, err := conns[i%n].Write(msgs[i]); err != nil {
						b.Error(err)
						return
					}
					i += senders
				}
				<-t.C
			}
		}()
	}
	wg.Wait()
	deadline := time.Now().Add(time.Minute)
	for ingested()-base < float64(b.N) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	got := ingested() - base
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	if got < float64(b.N) {
		b.Fatalf("ingested %.0f of %d messages", got, b.N)
	}
	b.ReportMetric(got/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/got, "cpu-ns/msg")
}

// liveHeap is the live heap after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// cpuTime is the CPU (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFleetIdle measures what a quiet fleet costs: -fleet.devices
// devices each send one message (with a stale interval, so every one is
// watched), then nothing arrives; each iteration is one second of the
// node idling (housekeeping, stale sweep, state saved every second to a
// file). It reports the process CPU per second (cpu-ms/s) and the bytes
// allocated per second.
func BenchmarkFleetIdle(b *testing.B) {
	n := *fleetDevices
	br := bridgetest.Start(b, func(c *bridge.Config) {
		c.State.MaxDevices = max(n, bridge.DefaultMaxDevices)
		c.State.Path = b.TempDir() + "/state.json"
		c.State.SaveInterval = time.Second
	})
	for i := 0; i < n; i++ {
		bridge.HandleMessage(br.Bridge, devices.Message{Topic: "zigbee2mqtt/fleet-" + strconv.Itoa(i), Payload: fleetPayload(i), ReceivedAt: time.Now()})
	}
	time.Sleep(6 * time.Second) // the saves of the new fleet settle
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	cpu0 := cpuTime()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		time.Sleep(time.Second)
	}
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	runtime.ReadMemStats(&ms1)
	b.ReportMetric(float64(cpu.Milliseconds())/elapsed.Seconds(), "cpu-ms/s")
	b.ReportMetric(float64(ms1.TotalAlloc-ms0.TotalAlloc)/elapsed.Seconds(), "alloc-B/s")
}
