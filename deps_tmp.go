package deps

import (
	_ "sigs.k8s.io/controller-runtime"
	_ "k8s.io/api/core/v1"
	_ "k8s.io/apimachinery/pkg/runtime"
	_ "k8s.io/client-go/kubernetes"
	_ "github.com/onsi/ginkgo/v2"
	_ "github.com/onsi/gomega"
	_ "gitlab.com/gitlab-org/api/client-go/v2"
	_ "golang.org/x/time/rate"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "sigs.k8s.io/yaml"
)
