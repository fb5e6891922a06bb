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

package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// TokenType says how the connection's token is sent to GitLab.
// +kubebuilder:validation:Enum=PrivateToken;OAuth
type TokenType string

const (
	// TokenTypePrivateToken is a personal, project or group access token, sent as PRIVATE-TOKEN.
	TokenTypePrivateToken TokenType = "PrivateToken"
	// TokenTypeOAuth is an OAuth 2 access token, sent as Authorization: Bearer.
	TokenTypeOAuth TokenType = "OAuth"
)

// GitLabConnectionSpec describes one GitLab instance and the token the operator uses there.
// +kubebuilder:validation:XValidation:rule="!(has(self.caBundleSecretRef) && has(self.insecureSkipTLSVerify) && self.insecureSkipTLSVerify)",message="caBundleSecretRef and insecureSkipTLSVerify cannot both be set: either trust a CA or skip verification"
// +kubebuilder:validation:XValidation:rule="!has(self.caBundleSecretRef) || self.url.startsWith('https://')",message="caBundleSecretRef needs an https:// url: a CA bundle is for TLS, and over http:// the token would travel in clear"
// +kubebuilder:validation:XValidation:rule="!has(self.insecureSkipTLSVerify) || !self.insecureSkipTLSVerify || self.url.startsWith('https://')",message="insecureSkipTLSVerify applies only to an https:// url"
type GitLabConnectionSpec struct {
	// url is the GitLab instance's base URL, such as https://gitlab.example.com
	// (without /api/v4, and without credentials: the token lives in a Secret).
	// +required
	// +kubebuilder:validation:MinLength=8
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="self.startsWith('http://') || self.startsWith('https://')",message="url must start with http:// or https://"
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getHostname() != ''",message="url must be an absolute URL with a host, such as https://gitlab.example.com"
	// +kubebuilder:validation:XValidation:rule="!isURL(self) || (url(self).getQuery().size() == 0 && !self.contains('#'))",message="url must not have a query or a fragment"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*@')",message="url must not carry credentials (user:token@): put the token in the Secret that tokenSecretRef names"
	// +kubebuilder:validation:XValidation:rule="!self.matches('^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*:[0-9]+([/?#]|$)') || self.matches('^[a-zA-Z][a-zA-Z0-9+.-]*://[^/?#]*:([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])([/?#]|$)')",message="url's port must be between 1 and 65535"
	URL string `json:"url"`

	// tokenSecretRef names the Secret, in the same namespace, that holds the token the
	// operator acts with. The token needs the api scope and at least the Developer role
	// on the projects it acts on.
	// +required
	TokenSecretRef TokenSecretReference `json:"tokenSecretRef"`

	// tokenType says what kind of token tokenSecretRef holds. PrivateToken (personal,
	// project or group access token) is sent as PRIVATE-TOKEN; OAuth as a Bearer token.
	// A CI job token cannot retry, play, cancel or erase jobs, so it is not a connection
	// token; a JobAction may carry one as its requester.
	// +optional
	// +kubebuilder:default=PrivateToken
	TokenType TokenType `json:"tokenType,omitempty"`

	// caBundleSecretRef names a Secret key with PEM CA certificates to trust, in addition
	// to the system roots, for an instance with a private CA.
	// +optional
	CABundleSecretRef *CABundleSecretReference `json:"caBundleSecretRef,omitempty"`

	// insecureSkipTLSVerify turns off TLS certificate verification. Only for tests:
	// anyone on the path can then read the token.
	// +optional
	InsecureSkipTLSVerify bool `json:"insecureSkipTLSVerify,omitempty"`

	// requestsPerSecond caps the rate of requests the operator sends to this instance,
	// across every object that uses the connection.
	// +optional
	// +kubebuilder:default=10
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	RequestsPerSecond int32 `json:"requestsPerSecond,omitempty"`

	// burst is how many requests may go at once above requestsPerSecond.
	// +optional
	// +kubebuilder:default=20
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	Burst int32 `json:"burst,omitempty"`

	// timeoutSeconds bounds each request to GitLab.
	// +optional
	// +kubebuilder:default=30
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=300
	TimeoutSeconds int32 `json:"timeoutSeconds,omitempty"`

	// webhook lets GitLab push job and pipeline events to the operator, so that
	// JobWatches react within a second instead of at their next poll. Its status
	// publishes the path to give GitLab (status.webhookPath).
	// +optional
	Webhook *WebhookSpec `json:"webhook,omitempty"`

	// agentID is the id of this cluster's GitLab agent. When set, a JobAction whose
	// requester is a CI job is allowed only if GitLab lists this agent among the
	// agents that job may use (GET /job/allowed_agents).
	// +optional
	// +kubebuilder:validation:Minimum=1
	AgentID int64 `json:"agentID,omitempty"`
}

// WebhookSpec configures the webhooks GitLab sends for this connection's projects.
type WebhookSpec struct {
	// secretRef names the Secret key, in the same namespace, holding the secret
	// token set on the GitLab project or group hook (GitLab sends it as
	// X-Gitlab-Token). A delivery without it is refused.
	// +required
	SecretRef TokenSecretReference `json:"secretRef"`
}

// GitLabConnectionStatus is what the operator last saw of the connection.
type GitLabConnectionStatus struct {
	// conditions: Ready is True when the token was accepted by GitLab at lastCheckTime;
	// WebhookReady, when spec.webhook is set, is True when the receiver takes
	// deliveries at webhookPath.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// observedGeneration is the generation of the spec the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// username is the GitLab user the token belongs to, as GitLab answered.
	// +optional
	// +kubebuilder:validation:MaxLength=255
	Username string `json:"username,omitempty"`

	// userID is the GitLab id of that user.
	// +optional
	UserID int64 `json:"userID,omitempty"`

	// webhookPath is the path, on the operator's webhook receiver, to give GitLab as
	// the hook's URL (https://<receiver address><webhookPath>), with Job events and
	// Pipeline events. It is derived from the token, so it cannot be guessed and
	// changes when the token does.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	WebhookPath string `json:"webhookPath,omitempty"`

	// lastCheckTime is when the connection was last checked against GitLab.
	// +optional
	LastCheckTime *metav1.Time `json:"lastCheckTime,omitempty"`
}

// GitLabConnection is one GitLab instance and the token the operator uses there.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=glc,categories=gitlab
// +kubebuilder:printcolumn:name="URL",type=string,JSONPath=`.spec.url`
// +kubebuilder:printcolumn:name="User",type=string,JSONPath=`.status.username`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Message",type=string,priority=1,JSONPath=`.status.conditions[?(@.type=="Ready")].message`
type GitLabConnection struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec describes the GitLab instance and its token.
	// +required
	Spec GitLabConnectionSpec `json:"spec"`

	// status is what the operator last saw.
	// +optional
	Status GitLabConnectionStatus `json:"status,omitempty"`
}

// GitLabConnectionList is a list of GitLabConnections.
// +kubebuilder:object:root=true
type GitLabConnectionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []GitLabConnection `json:"items"`
}

func init() {
	knownTypes = append(knownTypes, &GitLabConnection{}, &GitLabConnectionList{})
}
