package devenv

import (
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// ControlPlaneOptions say where the binaries are and where the files go.
type ControlPlaneOptions struct {
	// AssetsDir holds kube-apiserver, etcd and kubectl (see EnvtestAssets).
	AssetsDir string
	// CRDDir holds the CRDs to install (config/crd/bases); they are
	// established before StartControlPlane returns.
	CRDDir string
	// KubeconfigPath is where the admin kubeconfig is written.
	KubeconfigPath string
	// LogPath receives kube-apiserver's and etcd's output.
	LogPath string
}

// ControlPlane is a running kube-apiserver and etcd, reachable by an admin
// (system:masters) through Kubeconfig, Config and Kubectl.
type ControlPlane struct {
	env        *envtest.Environment
	log        *os.File
	Kubeconfig string
	Config     *rest.Config
	Kubectl    Kubectl
}

// StartControlPlane starts etcd and kube-apiserver on free ports with the
// CRDs installed, and writes an admin kubeconfig to KubeconfigPath for the
// manager and kubectl, which run as other processes.
func StartControlPlane(o ControlPlaneOptions) (*ControlPlane, error) {
	if err := CheckAssets(o.AssetsDir); err != nil {
		return nil, err
	}
	for _, f := range []string{o.KubeconfigPath, o.LogPath} {
		if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
			return nil, err
		}
	}
	log, err := os.OpenFile(o.LogPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, err
	}
	existing := false // never USE_EXISTING_CLUSTER: the demo must not touch a real cluster
	env := &envtest.Environment{
		BinaryAssetsDirectory: o.AssetsDir,
		CRDDirectoryPaths:     []string{o.CRDDir},
		ErrorIfCRDPathMissing: true,
		UseExistingCluster:    &existing,
	}
	env.ControlPlane.APIServer = &envtest.APIServer{Out: log, Err: log}
	env.ControlPlane.Etcd = &envtest.Etcd{Out: log, Err: log}
	if _, err := env.Start(); err != nil {
		_ = env.Stop() // whatever part did start
		log.Close()
		return nil, fmt.Errorf("starting kube-apiserver and etcd (log: %s): %w", log.Name(), err)
	}
	cp := &ControlPlane{env: env, log: log, Kubeconfig: o.KubeconfigPath}
	// A user of our own rather than envtest's: its client certificate is made
	// for this kubeconfig, and system:masters may do anything, as a cluster
	// admin running `make demo` would.
	admin, err := env.ControlPlane.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err == nil {
		cp.Config = admin.Config()
		var kc []byte
		if kc, err = admin.KubeConfig(); err == nil {
			err = os.WriteFile(cp.Kubeconfig, kc, 0o600)
		}
	}
	if err != nil {
		_ = cp.Stop()
		return nil, fmt.Errorf("writing the admin kubeconfig: %w", err)
	}
	cp.Kubectl = Kubectl{Path: filepath.Join(o.AssetsDir, "kubectl"), Kubeconfig: cp.Kubeconfig}
	return cp, nil
}

// Stop stops kube-apiserver and etcd and removes their data.
func (c *ControlPlane) Stop() error {
	err := c.env.Stop()
	c.log.Close()
	return err
}
