package s3test

import "syscall"

// procAttr makes the kernel kill the server if the test binary dies without
// running its cleanups (a timeout panic, kill -9), so no server outlives it.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
