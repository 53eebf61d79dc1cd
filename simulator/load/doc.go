// Package load is mqlive's load generator (`mqlive-sim load`, `make
// bench-load`): it measures one bridge from outside, the way a fleet of
// dashboards and devices would load it.
//
// For each Workload it starts a fresh bridge (Config.BridgeBin, with --dev
// on free loopback ports) or targets a running one, mints an HS256 token
// with golang-jwt, publishes one priming message per channel, and opens
// Subscribers WebSockets from its own process, each doing what PROTOCOL.md
// asks of a client (upgrade with mqlive.v1, connect, subscribe to
// device:lg-<i>; channel i%Channels). It then steps through Rates,
// publishing zigbee2mqtt state messages over one paho connection at each
// fixed rate, round-robin over the channels. Every payload carries its
// step, a sequence number and its send time on the load generator's
// monotonic clock, so latency is receive time − send time with no clock
// sync. A step ends when every owed delivery (publications × the
// channel's subscribers) has arrived or Drain has passed; later arrivals
// count as lost. The sweep stops after the first step with loss or with a
// p99 over P99Limit.
//
// Reported per workload: connect rate (upgrade + connect + subscribe per
// second) and the CPU each connect cost the server and the load generator,
// the server's RSS growth per socket (VmRSS of /proc/<pid>/status before
// the first socket and after the last, plus Idle), and per step
// deliveries/s, loss, duplicates, lagged notices, p50/p99/max latency, the
// CPU of the server and of the load generator itself over the step
// (utime+stime of /proc/<pid>/stat, % of one core) and the generator's CPU
// per delivery. The CPU per connect and per delivery are the figures to
// compare on a shared machine: rates and latencies depend on whatever
// else runs. WriteMarkdown prints them as one table in the form of issue
// 10.
//
// With Config.Reference (`--reference`) every workload also runs against
// the reference server (ServeReference, served by `mqlive-sim reference`):
// the minimal fan-out server on the same libraries that issue 10 compares
// mqlive with, started and measured the same way in the same sitting, so
// the report separates what the machine and the harness cost from what
// mqlive adds.
//
// # Bounds
//
// Loopback only: URLs must name 127.0.0.0/8 (or localhost). Sockets are
// spread over source addresses 127.0.0.1..SourceIPs so that tens of
// thousands of them do not exhaust one address's ephemeral ports, and
// RLIMIT_NOFILE is raised in-process. Counts, rates and durations are
// capped (MaxSubscribers, MaxRate, MaxStep, MaxTimeout) and the whole run
// is bounded by Config.Timeout. The only process it signals is the bridge
// it started, by its pid; that bridge also dies with the load generator
// (Pdeathsig).
//
// # Cost on the shared machine
//
// The load generator shares the cores with the server it measures, so it
// keeps its own work small: one histogram with atomic counters for all
// subscribers, a fast path that reads the few numbers it needs from a
// message frame, or from its connect and subscribe results, without
// decoding the Reading (any other frame is decoded in full), one reused
// read buffer per socket, small socket buffers without TCP keepalive, a
// dial that skips the resolver for the IP literal it is given, a few
// connect workers whose stacks grew once and one reader goroutine per
// socket, and a GC that runs at 5× its live heap. Its own CPU is reported
// beside the server's: per connect and per delivery, most of it is now the
// system calls a client makes (three loopback writes, connect, six reads
// per connect; a read that acknowledges the frame and one that finds
// nothing more per delivery).
package load
