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

package controllers_test

import (
	"encoding/pem"
	"net/http/httptest"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	civ1alpha1 "github.com/jobops-dev/gitlab-job-operator/api/v1alpha1"
)

var _ = Describe("GitLabConnection", func() {
	It("is Ready with the token's user", func() {
		w := newWorld()
		var conn civ1alpha1.GitLabConnection
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "gitlab"}, &conn)).To(Succeed())
		Expect(conn.Status.Username).To(Equal("operator"))
		Expect(conn.Status.ObservedGeneration).To(Equal(conn.Generation))
		Expect(conn.Status.LastCheckTime).NotTo(BeNil())
	})

	It("says Unauthorized for a token GitLab refuses, once", func() {
		w := newWorld()
		w.secret("bad-token", map[string]string{"token": "glpat-wrong"})
		w.connection("bad", "bad-token")
		Eventually(func(g Gomega) {
			g.Expect(w.connectionReady("bad")).To(HaveField("Reason", civ1alpha1.ReasonUnauthorized))
		}).Should(Succeed())
		warnings := func() int {
			n := 0
			for _, e := range events(w.ns, "bad") {
				if e.Type == corev1.EventTypeWarning && e.Reason == civ1alpha1.ReasonUnauthorized {
					n++
				}
			}
			return n
		}
		Eventually(warnings).Should(Equal(1))
		Consistently(warnings, 2*time.Second).Should(Equal(1), "one event, not one per check")
	})

	It("waits for a missing Secret and becomes Ready when it appears", func() {
		w := newWorld()
		w.connection("later", "later-token")
		Eventually(func(g Gomega) {
			g.Expect(w.connectionReady("later")).To(HaveField("Reason", civ1alpha1.ReasonSecretNotFound))
		}).Should(Succeed())
		w.secret("later-token", map[string]string{"other": "x"})
		Eventually(func(g Gomega) {
			g.Expect(w.connectionReady("later")).To(HaveField("Reason", civ1alpha1.ReasonSecretKeyMissing))
		}).Should(Succeed())
		var s corev1.Secret
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "later-token"}, &s)).To(Succeed())
		s.Data["token"] = []byte(operatorToken + "\n")
		Expect(k8s.Update(ctx, &s)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(w.connectionReady("later")).To(HaveField("Reason", civ1alpha1.ReasonSucceeded))
		}).Should(Succeed())
	})

	It("verifies TLS with the CA bundle it names, and says TLSError without it", func() {
		w := newWorld()
		server := httptest.NewTLSServer(sim.Handler())
		DeferCleanup(server.Close)
		caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: server.Certificate().Raw})
		w.secret("corp-ca", map[string]string{"ca.crt": string(caPEM)})
		for name, ca := range map[string]*civ1alpha1.CABundleSecretReference{"tls-trusted": {Name: "corp-ca"}, "tls-unknown": nil} {
			conn := &civ1alpha1.GitLabConnection{Spec: civ1alpha1.GitLabConnectionSpec{URL: server.URL,
				TokenSecretRef: civ1alpha1.TokenSecretReference{Name: "gitlab-token"}, CABundleSecretRef: ca, TimeoutSeconds: 5}}
			conn.Name, conn.Namespace = name, w.ns
			Expect(k8s.Create(ctx, conn)).To(Succeed())
		}
		Eventually(func(g Gomega) {
			g.Expect(w.connectionReady("tls-trusted")).To(HaveField("Reason", civ1alpha1.ReasonSucceeded))
			g.Expect(w.connectionReady("tls-unknown")).To(HaveField("Reason", civ1alpha1.ReasonTLSError))
		}).Should(Succeed())
	})

	It("says Unreachable when nothing listens", func() {
		w := newWorld()
		conn := &civ1alpha1.GitLabConnection{Spec: civ1alpha1.GitLabConnectionSpec{
			URL: "http://127.0.0.1:1", TokenSecretRef: civ1alpha1.TokenSecretReference{Name: "gitlab-token"}, TimeoutSeconds: 2}}
		conn.Name, conn.Namespace = "nowhere", w.ns
		Expect(k8s.Create(ctx, conn)).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(w.connectionReady("nowhere")).To(HaveField("Reason", civ1alpha1.ReasonUnreachable))
		}).Should(Succeed())
	})
})
