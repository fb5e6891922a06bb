//go:build !linux

package devenv

import "syscall"

// sysProcAttr puts the child in its own process group. Only Linux can tie a
// child's life to its parent's; elsewhere the owner must stop it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
