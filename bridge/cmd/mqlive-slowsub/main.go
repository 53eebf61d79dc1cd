// Command mqlive-slowsub is the slow-subscriber attack of the hardening
// review, as a reproducible measurement: clients with default claims send
// `subscribe devices` many times a second and never read, while the
// bridge's resident memory is sampled from /proc once a second. It talks to
// loopback only and stops by itself after -duration.
//
//	mqlive-slowsub -url ws://127.0.0.1:8080/ws -token "$TOKEN" -pid $(pidof mqlive) -duration 60s
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
)

func main() {
	wsURL := flag.String("url", "ws://127.0.0.1:8080/ws", "the bridge's WebSocket URL (loopback only)")
	token := flag.String("token", "", "a dashboard token with default claims")
	pid := flag.Int("pid", 0, "the bridge's process id, to sample its RSS")
	clients := flag.Int("clients", 1, "attacking connections")
	rate := flag.Float64("rate", 40, "subscribe requests per second per connection")
	duration := flag.Duration("duration", 60*time.Second, "how long to attack")
	flag.Parse()
	if err := run(*wsURL, *token, *pid, *clients, *rate, *duration); err != nil {
		fmt.Fprintln(os.Stderr, "mqlive-slowsub:", err)
		os.Exit(1)
	}
}

func run(wsURL, token string, pid, clients int, rate float64, duration time.Duration) error {
	u, err := url.Parse(wsURL)
	if err != nil {
		return err
	}
	host, _, err := net.SplitHostPort(u.Host)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%s is not a loopback address: this tool only attacks a bridge on this machine", host)
	}
	if token == "" || pid == 0 {
		return fmt.Errorf("-token and -pid are required")
	}
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var sent, closed atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := attack(ctx, wsURL, token, rate, &sent); err != nil {
				closed.Add(1)
				fmt.Fprintf(os.Stderr, "client: %v\n", err)
			}
		}()
	}
	fmt.Println("t_s\trss_mib\trequests_sent\tclients_closed")
	start := time.Now()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		rss, err := rssMiB(pid)
		if err != nil {
			return err
		}
		fmt.Printf("%.0f\t%.1f\t%d\t%d\n", time.Since(start).Seconds(), rss, sent.Load(), closed.Load())
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case <-t.C:
		}
	}
}

// attack connects, then sends subscribe requests at rate and never reads,
// until ctx ends or the server closes the connection.
func attack(ctx context.Context, wsURL, token string, rate float64, sent *atomic.Int64) error {
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second, Subprotocols: []string{"mqlive.v1"}}
	c, _, err := d.DialContext(ctx, wsURL, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	msg, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "connect", "params": map[string]any{"token": token}})
	if err := c.WriteMessage(websocket.TextMessage, msg); err != nil {
		return err
	}
	if _, _, err := c.ReadMessage(); err != nil { // the connect result, then never read again
		return err
	}
	t := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer t.Stop()
	for id := 2; ; id++ {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		req := `{"jsonrpc":"2.0","id":` + strconv.Itoa(id) + `,"method":"subscribe","params":{"channel":"devices"}}`
		_ = c.SetWriteDeadline(time.Now().Add(2 * time.Second))
		if err := c.WriteMessage(websocket.TextMessage, []byte(req)); err != nil {
			return fmt.Errorf("closed by the server after %d requests: %w", id-2, err)
		}
		sent.Add(1)
	}
}

func rssMiB(pid int) (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}
