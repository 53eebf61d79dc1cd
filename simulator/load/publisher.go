package load

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// publisher publishes zigbee2mqtt state messages at a fixed rate over one
// MQTT connection, each stamped with its send time on the load
// generator's clock (the same monotonic origin the subscribers measure
// against, so latency needs no clock sync).
type publisher struct {
	client  paho.Client
	base    string
	clock   time.Time
	payload int
	seq     int64
}

func newPublisher(ctx context.Context, url, base string, clock time.Time, payload int) (*publisher, error) {
	opts := paho.NewClientOptions().
		AddBroker(url).
		SetClientID(fmt.Sprintf("mqlive-sim-load-%d-%d", os.Getpid(), time.Now().UnixNano()%1e6)).
		SetCleanSession(true).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetConnectTimeout(10 * time.Second).
		SetOrderMatters(false)
	c := paho.NewClient(opts)
	tok := c.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if err := tok.Error(); err != nil {
		return nil, fmt.Errorf("mqtt connect %s: %w", url, err)
	}
	return &publisher{client: c, base: base, clock: clock, payload: payload}, nil
}

func (p *publisher) close() { p.client.Disconnect(250) }

// deviceID names the device (and so the channel device:<id>) of channel i.
func deviceID(i int) string { return "lg-" + strconv.Itoa(i) }

// publish sends one message to channel ch's device, stamped with step.
func (p *publisher) publish(ch int, step int) paho.Token {
	p.seq++
	sent := time.Since(p.clock).Microseconds()
	return p.client.Publish(p.base+"/"+deviceID(ch), 0, false, p.build(step, p.seq, sent))
}

// build is a zigbee2mqtt-style state object: a few realistic metrics, the
// stamps, and a string attribute padding it to the configured size.
func (p *publisher) build(step int, seq, sentUS int64) []byte {
	b := make([]byte, 0, p.payload)
	b = append(b, `{"temperature":21.5,"humidity":48.2,"battery":97,"linkquality":120,"`+metricStep+`":`...)
	b = strconv.AppendInt(b, int64(step), 10)
	b = append(b, `,"`+metricSeq+`":`...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, `,"`+metricSent+`":`...)
	b = strconv.AppendInt(b, sentUS, 10)
	b = append(b, `,"pad":"`...)
	for len(b) < p.payload-2 {
		b = append(b, 'x')
	}
	return append(b, `"}`...)
}

// run publishes rate messages per second for d, round-robin over channels
// starting after the last channel published, each at its due time
// start + i/rate (a late publisher catches up without drift). It returns
// how many it published per channel.
func (p *publisher) run(ctx context.Context, rate float64, d time.Duration, channels, step int) ([]int64, error) {
	perChannel := make([]int64, channels)
	n := int64(math.Round(rate * d.Seconds()))
	interval := float64(time.Second) / rate
	start := time.Now()
	var last paho.Token
	// One timer for the step, reset before each due publication (a new
	// one per publication was 4% of the generator's CPU in W2).
	t := time.NewTimer(time.Hour)
	defer t.Stop()
	for i := int64(0); i < n; i++ {
		if wait := time.Until(start.Add(time.Duration(float64(i) * interval))); wait > 0 {
			t.Reset(wait)
			select {
			case <-ctx.Done():
				return perChannel, ctx.Err()
			case <-t.C:
			}
		}
		ch := int(p.seq % int64(channels))
		last = p.publish(ch, step)
		perChannel[ch]++
		if last.WaitTimeout(0) && last.Error() != nil {
			return perChannel, fmt.Errorf("mqtt publish: %w", last.Error())
		}
	}
	if last != nil {
		if !last.WaitTimeout(10 * time.Second) {
			return perChannel, errors.New("mqtt publish: the last message was not sent within 10s")
		}
		if err := last.Error(); err != nil {
			return perChannel, fmt.Errorf("mqtt publish: %w", err)
		}
	}
	if !p.client.IsConnectionOpen() {
		return perChannel, errors.New("mqtt: the connection to the broker was lost")
	}
	return perChannel, nil
}
