package main

import (
	"fmt"
	"syscall"
)

// checkOpenFiles refuses a run of k sockets this process cannot hold.
func checkOpenFiles(k int) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && uint64(k)+256 > lim.Cur {
		return fmt.Errorf("%d sockets need more open files than this process may hold (%d): raise ulimit -n or lower -n", k, lim.Cur)
	}
	return nil
}
