# gitlab-job-operator: every tool and binary the project needs is installed or
# built here, into bin/, from the Go module proxy alone.

IMG ?= gitlab-job-operator:dev
K8S_VERSION ?= 1.36.3
ETCD_VERSION ?= 3.6.6
CONTROLLER_TOOLS_VERSION ?= v0.23.0
GOLANGCI_LINT_VERSION ?= v2.15.0
CRD_REF_DOCS_VERSION ?= v0.3.0

LOCALBIN ?= $(CURDIR)/bin
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen
GOLANGCI_LINT ?= $(LOCALBIN)/golangci-lint
CRD_REF_DOCS ?= $(LOCALBIN)/crd-ref-docs
HELM ?= $(LOCALBIN)/helm
PROMTOOL ?= $(LOCALBIN)/promtool
KUBECTL ?= kubectl
GO_TEST_FLAGS ?= -count=1

# envtest binaries: a KUBEBUILDER_ASSETS the user already set wins.
ENVTEST_ASSETS = $(or $(KUBEBUILDER_ASSETS),$(LOCALBIN)/k8s/$(K8S_VERSION)-$(shell go env GOOS)-$(shell go env GOARCH))

export GOFLAGS := -buildvcs=false

.DEFAULT_GOAL := help

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: controller-gen ## Generate CRDs and RBAC from the kubebuilder markers.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd paths="./..." output:crd:artifacts:config=config/crd/bases

.PHONY: generate
generate: controller-gen ## Generate DeepCopy methods.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./..."

.PHONY: api-docs
api-docs: crd-ref-docs ## Generate docs/api-reference.md from the Go types in api/v1alpha1.
	$(CRD_REF_DOCS) --log-level=WARN --source-path=./api/v1alpha1 --config=hack/api-docs/config.yaml \
		--renderer=markdown --templates-dir=hack/api-docs/templates --output-path=docs/api-reference.md

CHART := charts/gitlab-job-operator
CHART_RBAC := role.yaml leader_election_role.yaml metrics_auth_role.yaml metrics_reader_role.yaml jobops_editor_role.yaml jobops_viewer_role.yaml

.PHONY: chart-files
chart-files: ## Copy the CRDs, RBAC, alerting rules and dashboard from config/ into the Helm chart (test/chart fails until they match).
	rm -f $(CHART)/files/crds/*.yaml && cp config/crd/bases/*.yaml $(CHART)/files/crds/
	cp $(addprefix config/rbac/,$(CHART_RBAC)) $(CHART)/files/rbac/
	cp config/prometheus/alerts.yaml $(CHART)/files/prometheus/alerts.yaml
	rm -f $(CHART)/files/grafana/*.json && cp config/grafana/*.json $(CHART)/files/grafana/

.PHONY: fmt
fmt: ## go fmt.
	go fmt ./...

.PHONY: vet
vet: ## go vet.
	go vet ./...

.PHONY: lint
lint: golangci-lint ## Run golangci-lint.
	$(GOLANGCI_LINT) run ./...

.PHONY: verify
verify: manifests generate api-docs chart-files fmt vet ## Regenerate everything (the chart's copies of config/ too) and fail if the tree changed.
	@if [ -n "$$(git status --porcelain)" ]; then \
		echo "verify: the tree changed after regenerating; commit the result:"; git status --porcelain; git --no-pager diff --stat; exit 1; fi

# The e2e suite is the longest package: listed first, it starts first and the
# others run beside it.
TEST_PACKAGES = ./test/e2e/... $(shell go list ./... | grep -v /test/e2e)

.PHONY: test
test: test-deps ## Unit and envtest suites (real kube-apiserver and etcd), the chart and alert tests, and the e2e suite.
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" HELM="$(HELM)" PROMTOOL="$(PROMTOOL)" go test $(GO_TEST_FLAGS) $(TEST_PACKAGES)

# On a new machine the tests wait for long builds: kube-apiserver (with
# kubectl) and etcd; Helm and promtool; the tests themselves. In two lanes of
# about equal length, the envtest binaries in one and the tools then the
# tests in the other, both cores stay busy through each other's
# single-threaded phases (links, the biggest packages).
.PHONY: test-deps
test-deps: ## Build what the tests need (envtest binaries, Helm, promtool) and compile the tests, in two lanes.
	@$(MAKE) --no-print-directory -j2 envtest test-compile

.PHONY: test-compile
test-compile: helm promtool
	go test -count=1 -run '^$$' ./... >/dev/null

.PHONY: test-e2e
test-e2e: envtest ## Only the end-to-end suite: separate processes driven with kubectl (a few minutes).
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" go test $(GO_TEST_FLAGS) -v -timeout 15m ./test/e2e/...

.PHONY: demo
demo: ## Run the operator on a local control plane and the GitLab simulator (DEMO_EXIT=1: check and exit).
	go build -o $(LOCALBIN)/jobops-demo ./hack/demo
	DEMO_EXIT=$(DEMO_EXIT) $(LOCALBIN)/jobops-demo

# One package at a time (-p 1): each benchmark reports the machine's CPU and
# latencies, which another package's benchmark running beside it would skew.
.PHONY: bench
bench: envtest ## Benchmarks (long; figures printed, not asserted).
	KUBEBUILDER_ASSETS="$(ENVTEST_ASSETS)" go test -p 1 -run '^$$' -bench . -benchmem -benchtime 1x -timeout 90m ./...

##@ Build

.PHONY: build
build: ## Build the manager, the simulator and the kubectl plugin (kubectl-jobops) into bin/.
	go build -o $(LOCALBIN)/manager ./cmd/manager
	go build -o $(LOCALBIN)/gitlab-sim ./cmd/gitlab-sim
	go build -o $(LOCALBIN)/kubectl-jobops ./cmd/kubectl-jobops

.PHONY: run
run: manifests ## Run the manager against the cluster in KUBECONFIG.
	go run ./cmd/manager

.PHONY: docker-build
docker-build: ## Build the container image (needs a Docker engine).
	docker build -t $(IMG) .

##@ Deployment

.PHONY: install
install: manifests ## Install the CRDs into the cluster in KUBECONFIG.
	$(KUBECTL) apply --server-side -k config/crd

.PHONY: uninstall
uninstall: ## Remove the CRDs from the cluster in KUBECONFIG.
	$(KUBECTL) delete --ignore-not-found -k config/crd

.PHONY: deploy
deploy: manifests ## Deploy the operator (image IMG) to the cluster in KUBECONFIG.
	cd config/manager && $(KUBECTL) kustomize . >/dev/null
	$(KUBECTL) kustomize config/default | sed 's|image: controller:latest|image: $(IMG)|' | $(KUBECTL) apply --server-side -f -

.PHONY: undeploy
undeploy: ## Remove the operator from the cluster in KUBECONFIG.
	$(KUBECTL) delete --ignore-not-found -k config/default

##@ Tools

.PHONY: envtest
envtest: ## Build kube-apiserver, etcd and kubectl for envtest from source (once).
	@if [ -z "$(KUBEBUILDER_ASSETS)" ]; then K8S_VERSION=$(K8S_VERSION) ETCD_VERSION=$(ETCD_VERSION) hack/envtest-binaries.sh >/dev/null; fi

.PHONY: controller-gen
controller-gen: $(CONTROLLER_GEN)
$(CONTROLLER_GEN):
	GOBIN=$(LOCALBIN) go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_TOOLS_VERSION)

.PHONY: crd-ref-docs
crd-ref-docs: $(CRD_REF_DOCS)
$(CRD_REF_DOCS):
	GOBIN=$(LOCALBIN) go install github.com/elastic/crd-ref-docs@$(CRD_REF_DOCS_VERSION)

.PHONY: golangci-lint
golangci-lint: $(GOLANGCI_LINT)
$(GOLANGCI_LINT):
	GOBIN=$(LOCALBIN) go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

# Helm and promtool are pinned in hack/tools/go.mod and built by one go
# install (see the comment there). -tags remove_all_sd leaves Prometheus's
# cloud service discovery out of promtool: the rule tests need none of it.
.PHONY: helm promtool
helm: $(HELM)
promtool: $(PROMTOOL)
$(HELM) $(PROMTOOL) &: hack/tools/go.mod hack/tools/go.sum
	cd hack/tools && GOBIN=$(LOCALBIN) go install -tags remove_all_sd tool

##@ Release

VERSION ?= v0.1.0
KREW_PLATFORMS ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64

.PHONY: krew
krew: ## Build kubectl-jobops archives (KREW_PLATFORMS) and the Krew manifest into bin/krew/.
	VERSION=$(VERSION) hack/krew/build.sh $(LOCALBIN)/krew $(KREW_PLATFORMS)
