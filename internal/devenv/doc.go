// Package devenv runs the operator's world as separate processes on this
// machine: kube-apiserver and etcd (the envtest binaries), the GitLab
// simulator (bin/gitlab-sim) and the manager (bin/manager), all on 127.0.0.1
// with free ports. `make demo` (hack/demo) and the end-to-end tests
// (test/e2e) share it, so what the tests prove is what the demo runs.
//
// Every process started here is stopped by its owner (Stop, or Kill for crash
// tests); children also get SIGTERM if the process that started them dies
// (Linux), so a crashed demo or test does not leave a simulator or a manager
// behind.
package devenv
