package bridge_test

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	mpackets "github.com/mochi-mqtt/server/v2/packets"
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
	fleetSenders = flag.Int("fleet.senders", 4, "goroutines writing BenchmarkFleetIngestDevices' messages (1 with -fleet.tick=500us at 2,000 msg/s: evenly spaced, as W2's publisher)")
	fleetTick    = flag.Duration("fleet.tick", 10*time.Millisecond, "BenchmarkFleetIngestDevices' writers send a tick's share of -fleet.rate at once, each tick")
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
// scale, with the node's CPU measured apart from the devices': a child
// process (this test binary again, see TestFleetDeviceWriters) opens
// -fleet.conns device connections and sends b.N QoS 0 messages over their
// own topics at -fleet.rate messages/s in all, one PUBLISH per write as a
// device sends it, encoded before the clock starts. The child's system
// calls (one write per message, which on loopback also runs the
// receiving side of TCP) are its own, so this process's CPU is the node:
// the broker's reading and the bridge's pipeline. It reports the
// messages/s ingested (every one must be), the node's and the devices'
// CPU per message, and the rate two cores would give the node at its CPU
// per message (two-core-msgs/s = 2 s / node-cpu-ns/msg).
func BenchmarkFleetIngestDevices(b *testing.B) {
	br := bridgetest.Start(b)
	n := min(*fleetConns, b.N)
	cmd := exec.Command(os.Args[0], "-test.run=^TestFleetDeviceWriters$", "-test.count=1")
	cmd.Env = append(os.Environ(),
		"MQLIVE_FLEET_ADDR="+strings.TrimPrefix(br.MQTTURL, "tcp://"),
		"MQLIVE_FLEET_CONNS="+strconv.Itoa(n),
		"MQLIVE_FLEET_MSGS="+strconv.Itoa(b.N),
		"MQLIVE_FLEET_RATE="+strconv.Itoa(*fleetRate),
		"MQLIVE_FLEET_TICK="+fleetTick.String(),
		"MQLIVE_FLEET_SENDERS="+strconv.Itoa(*fleetSenders))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = stdin.Close(); _ = cmd.Wait() }()
	lines := bufio.NewScanner(stdout)
	expect := func(prefix string) string {
		for lines.Scan() {
			if rest, ok := strings.CutPrefix(lines.Text(), prefix); ok {
				return rest
			}
		}
		b.Fatalf("device writers: no %q line", prefix)
		return ""
	}
	expect("ready")
	ingested := func() float64 {
		return testutil.ToFloat64(bridge.MetricsOf(br.Bridge).IngestMessages.WithLabelValues("zigbee2mqtt", bridge.DefaultTenant, "decoded"))
	}
	base := ingested()
	cpu0 := cpuTime()
	b.ResetTimer()
	start := time.Now()
	if _, err := io.WriteString(stdin, "go\n"); err != nil {
		b.Fatal(err)
	}
	devCPU, err := time.ParseDuration(strings.TrimSpace(expect("sent")))
	if err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for ingested()-base < float64(b.N) && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	got := ingested() - base
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	if got < float64(b.N) {
		b.Fatalf("ingested %.0f of %d messages", got, b.N)
	}
	nodeNs := float64(cpu.Nanoseconds()) / got
	b.ReportMetric(got/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(nodeNs, "node-cpu-ns/msg")
	b.ReportMetric(float64(devCPU.Nanoseconds())/got, "devices-cpu-ns/msg")
	b.ReportMetric(2e9/nodeNs, "two-core-msgs/s")
}

// TestFleetDeviceWriters is BenchmarkFleetIngestDevices' device side, run
// only in the child process it starts (MQLIVE_FLEET_ADDR set): it
// connects MQLIVE_FLEET_CONNS devices, encodes MQLIVE_FLEET_MSGS PUBLISH
// packets (message i from device i%conns, on its own topic), prints
// "ready", and on a line from stdin writes them from MQLIVE_FLEET_SENDERS goroutines at
// MQLIVE_FLEET_RATE messages/s (a share every MQLIVE_FLEET_TICK), prints "sent <its CPU while writing>",
// and keeps the connections open until stdin closes.
func TestFleetDeviceWriters(t *testing.T) {
	addr := os.Getenv("MQLIVE_FLEET_ADDR")
	if addr == "" {
		t.Skip("the device side of BenchmarkFleetIngestDevices")
	}
	num := func(k string) int {
		v, err := strconv.Atoi(os.Getenv(k))
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		return v
	}
	n, total, rate, senders := num("MQLIVE_FLEET_CONNS"), num("MQLIVE_FLEET_MSGS"), num("MQLIVE_FLEET_RATE"), num("MQLIVE_FLEET_SENDERS")
	tick, err := time.ParseDuration(os.Getenv("MQLIVE_FLEET_TICK"))
	if err != nil || tick <= 0 {
		t.Fatalf("MQLIVE_FLEET_TICK: %q %v", os.Getenv("MQLIVE_FLEET_TICK"), err)
	}
	conns := make([]net.Conn, n)
	var buf bytes.Buffer
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		cp := mpackets.Packet{FixedHeader: mpackets.FixedHeader{Type: mpackets.Connect}, ProtocolVersion: 4,
			Connect: mpackets.ConnectParams{ProtocolName: []byte("MQTT"), Clean: true, Keepalive: 600,
				ClientIdentifier: fmt.Sprintf("fleet-dev-%d-%d", i, time.Now().UnixNano())}}
		buf.Reset()
		if err := cp.ConnectEncode(&buf); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Write(buf.Bytes()); err != nil {
			t.Fatal(err)
		}
		var ack [4]byte // CONNACK: type, length 2, flags, return code
		if _, err := io.ReadFull(c, ack[:]); err != nil || ack[0]>>4 != mpackets.Connack || ack[3] != 0 {
			t.Fatalf("connect: % x %v", ack, err)
		}
		conns[i] = c
	}
	msgs := make([][]byte, total)
	for i := range msgs {
		pp := mpackets.Packet{FixedHeader: mpackets.FixedHeader{Type: mpackets.Publish}, ProtocolVersion: 4,
			TopicName: "zigbee2mqtt/fleet-" + strconv.Itoa(i%n), Payload: fleetPayload(i)}
		buf.Reset()
		if err := pp.PublishEncode(&buf); err != nil {
			t.Fatal(err)
		}
		msgs[i] = bytes.Clone(buf.Bytes())
	}
	fmt.Println("ready")
	in := bufio.NewReader(os.Stdin)
	if _, err := in.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	cpu0 := cpuTime()
	perTick := max(1, int(int64(rate)*int64(tick)/int64(time.Second))/senders)
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t0 := time.NewTicker(tick)
			defer t0.Stop()
			for i := s; i < total; {
				for k := 0; k < perTick && i < total; k++ {
					if _, err := conns[i%n].Write(msgs[i]); err != nil {
						t.Error(err)
						return
					}
					i += senders
				}
				<-t0.C
			}
		}()
	}
	wg.Wait()
	fmt.Println("sent", cpuTime()-cpu0)
	_, _ = io.Copy(io.Discard, in) // until the benchmark has counted
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
