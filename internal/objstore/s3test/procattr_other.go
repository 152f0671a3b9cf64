//go:build !linux

package s3test

import "syscall"

// procAttr has no parent-death signal to ask for outside Linux; cleanup
// relies on t.Cleanup alone there.
func procAttr() *syscall.SysProcAttr { return nil }
