package load

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat.
// It is 100 on every Linux architecture Go supports (the kernel's HZ may
// differ, but /proc reports in USER_HZ), so it is not read with sysconf,
// which would need cgo.
const clockTicks = 100

// procRSS returns VmRSS of a process in bytes, from /proc/<pid>/status.
func procRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range bytes.Lines(b) {
		if v, ok := bytes.CutPrefix(line, []byte("VmRSS:")); ok {
			f := bytes.Fields(v) // "12345", "kB"
			if len(f) != 2 || string(f[1]) != "kB" {
				return 0, fmt.Errorf("/proc/%d/status: VmRSS line %q", pid, line)
			}
			kb, err := strconv.ParseInt(string(f[0]), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/%d/status: VmRSS: %w", pid, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
}

// procCPU returns the CPU time (user + system) a process has used, from
// /proc/<pid>/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	return parseStatCPU(b)
}

// parseStatCPU reads utime and stime (fields 14 and 15) of a stat line. The
// command name (field 2) is in parentheses and may itself contain spaces
// and parentheses, so fields are counted from the last ')'.
func parseStatCPU(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat: no command name")
	}
	f := bytes.Fields(b[i+1:]) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("stat: %d fields after the command name, want at least 13", len(f))
	}
	var ticks int64
	for _, s := range f[11:13] {
		v, err := strconv.ParseInt(string(s), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("stat: utime/stime: %w", err)
		}
		ticks += v
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// loadAverage is the machine's 1-minute load average from /proc/loadavg,
// or -1: on a shared machine it says how much the figures were competing
// for the cores.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := bytes.Fields(b)
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(string(f[0]), 64)
	if err != nil {
		return -1
	}
	return v
}

// cpuMeter measures the CPU share of one process over a window.
type cpuMeter struct {
	pid   int
	cpu0  time.Duration
	wall0 time.Time
	err   error
}

func startCPU(pid int) cpuMeter {
	m := cpuMeter{pid: pid, wall0: time.Now()}
	if pid > 0 {
		m.cpu0, m.err = procCPU(pid)
	}
	return m
}

// percent is the process's CPU time since startCPU as % of one core; -1
// when unknown (no pid, or /proc unreadable).
func (m cpuMeter) percent() float64 {
	cpu := m.used()
	wall := time.Since(m.wall0)
	if cpu < 0 || wall <= 0 {
		return -1
	}
	return 100 * float64(cpu) / float64(wall)
}

// used is the process's CPU time since startCPU, or -1 when unknown.
func (m cpuMeter) used() time.Duration {
	if m.pid <= 0 || m.err != nil {
		return -1
	}
	cpu, err := procCPU(m.pid)
	if err != nil {
		return -1
	}
	return cpu - m.cpu0
}

// raiseFileLimit lifts RLIMIT_NOFILE to at least need descriptors: the soft
// limit up to the hard one, and the hard one too when the process may
// (CAP_SYS_RESOURCE). It fails with the numbers when need is out of reach.
func raiseFileLimit(need uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("getrlimit NOFILE: %w", err)
	}
	if lim.Cur >= need {
		return nil
	}
	want := lim
	want.Cur = max(lim.Max, need)
	want.Max = max(lim.Max, need)
	if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want) == nil {
		return nil
	}
	want = syscall.Rlimit{Cur: lim.Max, Max: lim.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		return fmt.Errorf("setrlimit NOFILE %d: %w", lim.Max, err)
	}
	if lim.Max < need {
		return fmt.Errorf("%d sockets need about %d file descriptors; the hard limit (ulimit -Hn) is %d and cannot be raised by this user", need-fdMargin, need, lim.Max)
	}
	return nil
}

// fdMargin is the descriptors the load generator needs beside its sockets
// (MQTT, the bridge's pipes, the Go runtime).
const fdMargin = 64
