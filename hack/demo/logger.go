package main

import (
	"os"

	"github.com/go-logr/logr"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// setLogger gives controller-runtime, which envtest logs through while it
// starts and stops kube-apiserver and etcd, a logger. Without one it prints
// "log.SetLogger(...) was never called" and a stack trace into the demo's
// output. Those lines are for debugging the demo itself: they go to stderr
// only with -v; kube-apiserver's and etcd's own output is in
// logs/control-plane.log either way.
func setLogger(verbose bool) {
	if !verbose {
		ctrllog.SetLogger(logr.Discard())
		return
	}
	ctrllog.SetLogger(zap.New(zap.WriteTo(os.Stderr)))
}
