package devenv

import "syscall"

// sysProcAttr puts the child in its own process group and has the kernel
// send it SIGTERM when its parent dies: a killed test binary or demo then
// takes its simulator and manager with it, and they shut down cleanly.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
