/*
Copyright 2026 The gitlab-job-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package v1alpha1_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
	"github.com/jobops-dev/gitlab-job-operator/internal/testenv"
)

const (
	validConnection = `
apiVersion: ci.jobops.dev/v1alpha1
kind: GitLabConnection
metadata: {name: gitlab}
spec:
  url: https://gitlab.example.com
  tokenSecretRef: {name: gitlab-token}
`
	validAction = `
apiVersion: ci.jobops.dev/v1alpha1
kind: JobAction
metadata: {name: retry}
spec:
  connectionRef: {name: gitlab}
  project: group/app
  action: Retry
  jobID: 812
`
	validWatch = `
apiVersion: ci.jobops.dev/v1alpha1
kind: JobWatch
metadata: {name: flaky}
spec:
  connectionRef: {name: gitlab}
  project: group/app
  rules:
  - name: infra
    action: Retry
    match: {statuses: [failed], failureReasons: [runner_system_failure]}
`
)

// edit applies a merge of patch (YAML) onto base (YAML) and returns the object.
func edit(base, patch string) *unstructured.Unstructured {
	GinkgoHelper()
	obj := &unstructured.Unstructured{}
	Expect(yaml.Unmarshal([]byte(base), &obj.Object)).To(Succeed())
	if patch != "" {
		var p map[string]any
		Expect(yaml.Unmarshal([]byte(patch), &p)).To(Succeed())
		merge(obj.Object, p)
	}
	return obj
}

// merge overlays src onto dst; a nil value in src deletes the key.
func merge(dst, src map[string]any) {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
			continue
		}
		if sm, ok := v.(map[string]any); ok {
			if dm, ok := dst[k].(map[string]any); ok {
				merge(dm, sm)
				continue
			}
		}
		dst[k] = v
	}
}

func newNamespace() string {
	GinkgoHelper()
	ns := &corev1.Namespace{}
	ns.GenerateName = "admission-"
	Expect(k8s.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

var _ = Describe("Admission", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	DescribeTable("refuses an invalid object with a message that says what to fix",
		func(base, patch, message string) {
			obj := edit(base, patch)
			obj.SetNamespace(ns)
			err := k8s.Create(ctx, obj)
			Expect(err).To(HaveOccurred(), "the API server accepted an invalid object")
			Expect(err.Error()).To(ContainSubstring(message))
		},
		// GitLabConnection
		Entry("connection without url", validConnection, `spec: {url: null}`, `spec.url: Required value`),
		Entry("connection url with another scheme", validConnection, `spec: {url: "ftp://gitlab.example.com"}`, "url must start with http:// or https://"),
		Entry("connection url without a host", validConnection, `spec: {url: "https://"}`, "spec.url: Invalid value"),
		Entry("connection url with a query", validConnection, `spec: {url: "https://gitlab.example.com/?a=b"}`, "url must not have a query or a fragment"),
		Entry("connection without token secret", validConnection, `spec: {tokenSecretRef: null}`, `spec.tokenSecretRef: Required value`),
		Entry("connection with unknown token type", validConnection, `spec: {tokenType: JobToken}`, `supported values: "PrivateToken", "OAuth"`),
		Entry("connection with CA bundle and insecure", validConnection, `spec: {caBundleSecretRef: {name: ca}, insecureSkipTLSVerify: true}`, "caBundleSecretRef and insecureSkipTLSVerify cannot both be set"),
		Entry("connection with zero rate", validConnection, `spec: {requestsPerSecond: 0}`, "spec.requestsPerSecond: Invalid value: 0: spec.requestsPerSecond in body should be greater than or equal to 1"),
		Entry("connection with huge timeout", validConnection, `spec: {timeoutSeconds: 3600}`, "spec.timeoutSeconds in body should be less than or equal to 300"),
		Entry("connection with a bad secret key", validConnection, `spec: {tokenSecretRef: {name: t, key: "a/b"}}`, "spec.tokenSecretRef.key in body should match"),
		Entry("connection url with a token in it", validConnection, `spec: {url: "https://oauth2:glpat-0123456789@gitlab.example.com"}`, "url must not carry credentials (user:token@): put the token in the Secret that tokenSecretRef names"),
		Entry("connection url with a user in it", validConnection, `spec: {url: "https://admin@gitlab.example.com/"}`, "url must not carry credentials"),
		Entry("connection url with a port out of range", validConnection, `spec: {url: "https://gitlab.example.com:84433"}`, "url's port must be between 1 and 65535"),
		Entry("connection url with port zero", validConnection, `spec: {url: "https://gitlab.example.com:0"}`, "url's port must be between 1 and 65535"),
		Entry("connection with a CA bundle over http", validConnection, `spec: {url: "http://gitlab.example.com", caBundleSecretRef: {name: corp-ca}}`, "caBundleSecretRef needs an https:// url: a CA bundle is for TLS, and over http:// the token would travel in clear"),
		Entry("connection skipping TLS checks over http", validConnection, `spec: {url: "http://gitlab.example.com", insecureSkipTLSVerify: true}`, "insecureSkipTLSVerify applies only to an https:// url"),
		Entry("connection with a token Secret name that is not an object name", validConnection, `spec: {tokenSecretRef: {name: GitLab_Token}}`, "the Secret name must be a valid object name: lower-case letters, digits, '-' and '.'"),
		Entry("connection with a CA Secret name that is not an object name", validConnection, `spec: {caBundleSecretRef: {name: "corp ca"}}`, "spec.caBundleSecretRef.name: Invalid value"),
		// JobAction
		Entry("action without target", validAction, `spec: {jobID: null}`, "set exactly one target: jobID, pipelineID with jobName, or ref with jobName"),
		Entry("action with two targets", validAction, `spec: {pipelineID: 12, jobName: rspec}`, "set exactly one target"),
		Entry("action with pipeline but no job name", validAction, `spec: {jobID: null, pipelineID: 12}`, "jobName is required with pipelineID or ref, and must not be set with jobID"),
		Entry("action with ref but no job name", validAction, `spec: {jobID: null, ref: main}`, "jobName is required with pipelineID or ref"),
		Entry("action with job id and job name", validAction, `spec: {jobName: rspec}`, "jobName is required with pipelineID or ref, and must not be set with jobID"),
		Entry("action with unknown action", validAction, `spec: {action: Delete}`, `supported values: "Retry", "Play", "Cancel", "Erase"`),
		Entry("action with variables on Retry", validAction, `spec: {variables: [{key: A, value: b}]}`, "variables are allowed only when action is Play"),
		Entry("action with force on Play", validAction, `spec: {action: Play, force: true}`, "force is allowed only when action is Cancel"),
		Entry("action with a bad variable key", validAction, `spec: {action: Play, variables: [{key: "A-B", value: b}]}`, "spec.variables[0].key in body should match '^[a-zA-Z0-9_]+$'"),
		Entry("action with value and valueFrom", validAction, `spec: {action: Play, variables: [{key: A, value: b, valueFrom: {secretKeyRef: {name: s, key: k}}}]}`, "set exactly one of value or valueFrom"),
		Entry("action with a variable without value", validAction, `spec: {action: Play, variables: [{key: A}]}`, "set exactly one of value or valueFrom"),
		Entry("action with duplicate variable keys", validAction, `spec: {action: Play, variables: [{key: A, value: b}, {key: A, value: c}]}`, `spec.variables[1]: Duplicate value`),
		Entry("action with a project name alone", validAction, `spec: {project: "app"}`, "project must be a numeric id or a full path such as group/app (a path, not a URL or a project name alone)"),
		Entry("action with a project URL", validAction, `spec: {project: "https://gitlab.example.com/group/app"}`, "project must be a numeric id or a full path such as group/app"),
		Entry("action with project id 0", validAction, `spec: {project: "0"}`, "project must be a numeric id of 1 or more, or a full path such as group/app"),
		Entry("action with project id 0 as a number", validAction, `spec: {project: 0}`, "project must be a numeric id of 1 or more"),
		Entry("action with a negative project id", validAction, `spec: {project: -4}`, "project must be a numeric id of 1 or more"),
		Entry("action with a project pasted from a clone URL", validAction, `spec: {project: "group/app.git"}`, "project is a path such as group/app, without the .git of a clone URL"),
		Entry("action with a project path climbing up", validAction, `spec: {project: "group/../app"}`, "project must not contain '..'"),
		Entry("action with a connection name that is not an object name", validAction, `spec: {connectionRef: {name: "My GitLab"}}`, "the connection name must be a valid object name"),
		Entry("action with a variable Secret name that is not an object name", validAction, `spec: {action: Play, variables: [{key: A, valueFrom: {secretKeyRef: {name: Deploy_Secrets, key: k}}}]}`, "the Secret name must be a valid object name"),
		Entry("action with a requester Secret name that is not an object name", validAction, `spec: {requester: {jobTokenSecretRef: {name: "ci token"}}}`, "the Secret name must be a valid object name"),
		Entry("action with a ref that has a space", validAction, `spec: {jobID: null, ref: "my branch", jobName: deploy}`, "ref must be a branch or tag name as git allows it"),
		Entry("action with a ref with two dots", validAction, `spec: {jobID: null, ref: "main..dev", jobName: deploy}`, "ref must be a branch or tag name"),
		Entry("action with a ref ending in .lock", validAction, `spec: {jobID: null, ref: "main.lock", jobName: deploy}`, "ref must be a branch or tag name"),
		Entry("action with a ref with a colon", validAction, `spec: {jobID: null, ref: "refs:main", jobName: deploy}`, "ref must be a branch or tag name"),
		Entry("action with zero job id", validAction, `spec: {jobID: 0}`, "spec.jobID in body should be greater than or equal to 1"),
		Entry("action with negative job id", validAction, `spec: {jobID: -3}`, "spec.jobID in body should be greater than or equal to 1"),
		Entry("action without connection", validAction, `spec: {connectionRef: null}`, "spec.connectionRef: Required value"),
		Entry("action with negative ttl", validAction, `spec: {ttlSecondsAfterFinished: -1}`, "spec.ttlSecondsAfterFinished in body should be greater than or equal to 0"),
		// JobWatch
		Entry("watch without rules", validWatch, `spec: {rules: []}`, "spec.rules: Invalid value: 0: spec.rules in body should have at least 1 items"),
		Entry("watch with duplicate rule names", validWatch, `spec: {rules: [{name: a, action: Retry}, {name: a, action: Cancel}]}`, `spec.rules[1]: Duplicate value: {"name":"a"}`),
		Entry("watch with a too short interval", validWatch, `spec: {intervalSeconds: 5}`, "spec.intervalSeconds in body should be greater than or equal to 10"),
		Entry("watch with retry options on a Cancel rule", validWatch, `spec: {rules: [{name: a, action: Cancel, retry: {maxRetries: 3}}]}`, "retry options are allowed only when action is Retry"),
		Entry("watch with play options on a Retry rule", validWatch, `spec: {rules: [{name: a, action: Retry, play: {variables: []}}]}`, "play options are allowed only when action is Play"),
		Entry("watch with cancel options on an Erase rule", validWatch, `spec: {rules: [{name: a, action: Erase, cancel: {force: true}}]}`, "cancel options are allowed only when action is Cancel"),
		Entry("watch retrying running jobs", validWatch, `spec: {rules: [{name: a, action: Retry, match: {statuses: [running]}}]}`, "a Retry rule can match only statuses GitLab can retry"),
		Entry("watch playing failed jobs", validWatch, `spec: {rules: [{name: a, action: Play, match: {statuses: [failed]}}]}`, "a Play rule can match only statuses manual and scheduled"),
		Entry("watch canceling finished jobs", validWatch, `spec: {rules: [{name: a, action: Cancel, match: {statuses: [success]}}]}`, "a Cancel rule can match only statuses of jobs that have not finished"),
		Entry("watch erasing running jobs", validWatch, `spec: {rules: [{name: a, action: Erase, match: {statuses: [running]}}]}`, "an Erase rule can match only finished statuses"),
		Entry("watch with failure reasons on success", validWatch, `spec: {rules: [{name: a, action: Retry, match: {statuses: [success], failureReasons: [script_failure]}}]}`, "match.failureReasons needs a Retry or Erase rule whose statuses include failed"),
		Entry("watch with too many retries", validWatch, `spec: {rules: [{name: a, action: Retry, retry: {maxRetries: 50}}]}`, "spec.rules[0].retry.maxRetries in body should be less than or equal to 20"),
		Entry("watch with a backoff cap below its start", validWatch, `spec: {rules: [{name: a, action: Retry, retry: {backoff: {initialSeconds: 600, maxSeconds: 60}}}]}`, "backoff.maxSeconds must be at least backoff.initialSeconds"),
		Entry("watch with an unknown status", validWatch, `spec: {rules: [{name: a, action: Retry, match: {statuses: [broken]}}]}`, `spec.rules[0].match.statuses[0]: Unsupported value: "broken"`),
		Entry("watch with a bad rule name", validWatch, `spec: {rules: [{name: "Bad Name", action: Retry}]}`, "spec.rules[0].name in body should match"),
		Entry("watch with too many actions per sync", validWatch, `spec: {maxActionsPerSync: 500}`, "spec.maxActionsPerSync in body should be less than or equal to 50"),
		Entry("watch erasing bridges", validWatch, `spec: {rules: [{name: a, action: Erase, match: {includeBridges: true}}]}`, "match.includeBridges is not allowed on an Erase rule: trigger jobs have no log or artifacts to erase"),
		Entry("watch matching logs of manual jobs", validWatch, `spec: {rules: [{name: a, action: Play, match: {logPattern: "deploy"}}]}`, "match.logPattern is not allowed on a Play rule: a manual job waiting to be played has no log to match"),
		Entry("watch with a backoff start above the default cap", validWatch, `spec: {rules: [{name: a, action: Retry, retry: {backoff: {initialSeconds: 7200}}}]}`, "maxSeconds defaults to 3600: set it when initialSeconds is larger"),
		Entry("watch with a project pasted from a clone URL", validWatch, `spec: {project: "group/app.git"}`, "project is a path such as group/app, without the .git of a clone URL"),
		Entry("watch with project id 0", validWatch, `spec: {project: 0}`, "project must be a numeric id of 1 or more"),
		Entry("watch with a connection name that is not an object name", validWatch, `spec: {connectionRef: {name: GitLab}}`, "the connection name must be a valid object name"),
	)

	It("reports an unparseable url once, without the rules that need a parsed url", func() {
		obj := edit(validConnection, `spec: {url: "https://gitlab example.com"}`)
		obj.SetNamespace(ns)
		err := k8s.Create(ctx, obj)
		Expect(err).To(MatchError(ContainSubstring("url must be an absolute URL with a host, such as https://gitlab.example.com")))
		Expect(err.Error()).NotTo(ContainSubstring("query or a fragment"))
		Expect(err.Error()).NotTo(ContainSubstring("port"))
	})

	DescribeTable("accepts what GitLab and git accept",
		func(base, patch string) {
			obj := edit(base, patch)
			obj.SetNamespace(ns)
			Expect(k8s.Create(ctx, obj)).To(Succeed())
		},
		Entry("an http url (a simulator, an in-cluster instance)", validConnection, `spec: {url: "http://gitlab.gitlab.svc:8080"}`),
		Entry("an https url with a port and a path", validConnection, `spec: {url: "https://example.com:8443/gitlab", caBundleSecretRef: {name: corp-ca}}`),
		Entry("a numeric project written as a number", validAction, `spec: {project: 42}`),
		Entry("a numeric project written as a string", validAction, `spec: {project: "42"}`),
		Entry("a project in a subgroup with dots and dashes", validAction, `spec: {project: "my-group/sub.group/app_1"}`),
		Entry("a release branch with slashes and dots", validAction, `spec: {jobID: null, ref: "release/1.2.x", jobName: deploy}`),
		Entry("a tag", validAction, `spec: {jobID: null, ref: "v2.0.0-rc.1", jobName: deploy}`),
		Entry("a watch on a numeric project", validWatch, `spec: {project: 7}`),
	)

	It("accepts every sample in config/samples", func() {
		files, err := filepath.Glob(filepath.Join(testenv.RepoRoot(), "config", "samples", "*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		count := 0
		for _, file := range files {
			if filepath.Base(file) == "kustomization.yaml" {
				continue
			}
			data, err := os.ReadFile(file)
			Expect(err).NotTo(HaveOccurred())
			decoder := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(string(data)), 4096)
			for {
				obj := &unstructured.Unstructured{}
				if err := decoder.Decode(&obj.Object); err != nil {
					break
				}
				if len(obj.Object) == 0 {
					continue
				}
				obj.SetNamespace(ns)
				Expect(k8s.Create(ctx, obj)).To(Succeed(), fmt.Sprintf("%s: %s", filepath.Base(file), obj.GetName()))
				count++
			}
		}
		Expect(count).To(BeNumerically(">=", 6), "expected samples of every kind")
	})

	It("applies defaults", func() {
		conn := edit(validConnection, "")
		conn.SetNamespace(ns)
		Expect(k8s.Create(ctx, conn)).To(Succeed())
		var gc civ1alpha1.GitLabConnection
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(conn), &gc)).To(Succeed())
		Expect(gc.Spec.TokenType).To(Equal(civ1alpha1.TokenTypePrivateToken))
		Expect(gc.Spec.TokenSecretRef.Key).To(Equal("token"))
		Expect(gc.Spec.RequestsPerSecond).To(Equal(int32(10)))
		Expect(gc.Spec.Burst).To(Equal(int32(20)))
		Expect(gc.Spec.TimeoutSeconds).To(Equal(int32(30)))

		action := edit(validAction, "")
		action.SetNamespace(ns)
		Expect(k8s.Create(ctx, action)).To(Succeed())
		var ja civ1alpha1.JobAction
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(action), &ja)).To(Succeed())
		Expect(ja.Spec.FollowResult).To(HaveValue(BeTrue()))

		watch := edit(validWatch, `spec: {rules: [{name: infra, action: Retry, retry: {backoff: {}}}]}`)
		watch.SetNamespace(ns)
		Expect(k8s.Create(ctx, watch)).To(Succeed())
		var jw civ1alpha1.JobWatch
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(watch), &jw)).To(Succeed())
		Expect(jw.Spec.IntervalSeconds).To(Equal(int32(60)))
		Expect(jw.Spec.MaxActionsPerSync).To(Equal(int32(10)))
		Expect(jw.Spec.Rules[0].Retry.MaxRetries).To(Equal(int32(2)))
		Expect(*jw.Spec.Rules[0].Retry.Backoff).To(Equal(civ1alpha1.Backoff{InitialSeconds: 30, Factor: 2, MaxSeconds: 3600}))
	})

	It("refuses any change to a JobAction's spec", func() {
		action := edit(validAction, "")
		action.SetNamespace(ns)
		Expect(k8s.Create(ctx, action)).To(Succeed())
		var ja civ1alpha1.JobAction
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(action), &ja)).To(Succeed())
		ja.Spec.JobID = 813
		err := k8s.Update(ctx, &ja)
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("spec is immutable: create a new JobAction to act again"))

		// Metadata stays editable: labels and annotations are not the action.
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(action), &ja)).To(Succeed())
		ja.Labels = map[string]string{"team": "platform"}
		Expect(k8s.Update(ctx, &ja)).To(Succeed())
	})

	It("lets a JobWatch's rules change", func() {
		watch := edit(validWatch, "")
		watch.SetNamespace(ns)
		Expect(k8s.Create(ctx, watch)).To(Succeed())
		var jw civ1alpha1.JobWatch
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(watch), &jw)).To(Succeed())
		jw.Spec.DryRun = true
		jw.Spec.Rules = append(jw.Spec.Rules, civ1alpha1.WatchRule{Name: "stuck", Action: civ1alpha1.ActionCancel,
			Match: civ1alpha1.RuleMatch{Statuses: []civ1alpha1.JobStatus{"pending"}, MinAgeSeconds: 3600}})
		Expect(k8s.Update(ctx, &jw)).To(Succeed())
	})
})
