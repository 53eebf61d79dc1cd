//go:build !linux

package ws

import "syscall"

// writeNow writes nothing where writev is not wired up: the pool then
// hands every batch to a writer goroutine of its own, as before the pool.
func (b *batch) writeNow(syscall.RawConn) (int, error) { return 0, nil }

func (b *batch) writevFD(uintptr) bool { return true }
