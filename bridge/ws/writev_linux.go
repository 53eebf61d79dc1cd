//go:build linux

package ws

import (
	"syscall"
	"unsafe"
)

// writeNow writes b's frames with writev on the socket behind rc, as much
// as it takes without waiting, and returns the bytes written. RawConn.Write
// holds the socket's write lock, so the descriptor cannot be closed and
// reused meanwhile; fn never asks it to wait for the socket to drain.
func (b *batch) writeNow(rc syscall.RawConn) (int, error) {
	b.iov = b.iov[:0]
	for _, p := range b.bufs {
		if len(p) > 0 {
			v := syscall.Iovec{Base: &p[0]}
			v.SetLen(len(p))
			b.iov = append(b.iov, v)
		}
	}
	b.n, b.err = 0, nil
	if err := rc.Write(b.fn); err != nil {
		return b.n, err
	}
	return b.n, b.err
}

// writevFD is b.fn: writev until everything is out or the socket is full
// (EAGAIN: its descriptor is non-blocking, as every socket the runtime
// polls). It always reports done, so RawConn.Write never waits.
//
// The call is a raw one: it cannot block, so the runtime need not be told
// (entersyscall and exitsyscall). Told, it let sysmon take the worker's
// processor away during a write that took longer than sysmon's 20 µs tick
// (a loopback write costs 10–20 µs of kernel time, more when it wakes the
// reader), and the worker then had to get one back, often through a futex
// wake-up; and every write woke a sleeping sysmon (issue 10, W2: futex
// 7% of the server's profile, sysmon's nanosleep 0.3 per delivery).
func (b *batch) writevFD(fd uintptr) bool {
	iov := b.iov
	for len(iov) > 0 {
		r, _, e := syscall.RawSyscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
		switch e {
		case 0:
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return true
		default:
			b.err = e
			return true
		}
		b.n += int(r)
		for r > 0 {
			if l := uintptr(iov[0].Len); r >= l {
				r -= l
				iov = iov[1:]
				continue
			}
			iov[0].Base = (*byte)(unsafe.Add(unsafe.Pointer(iov[0].Base), r))
			iov[0].SetLen(int(uintptr(iov[0].Len) - r))
			r = 0
		}
	}
	return true
}
