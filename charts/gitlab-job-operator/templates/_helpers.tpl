{{/* The release's full name: the release name, with the chart name unless it already holds it. */}}
{{- define "gjo.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "gjo.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "gjo.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "gjo.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Labels every manager pod has, main and shards: the metrics Service selects them all. */}}
{{- define "gjo.managerSelector" -}}
app.kubernetes.io/name: {{ include "gjo.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: manager
{{- end -}}

{{- define "gjo.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "gjo.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "gjo.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* The namespace of the leader election Lease. */}}
{{- define "gjo.leaseNamespace" -}}
{{- default .Release.Namespace .Values.leaderElection.namespace -}}
{{- end -}}

{{/*
The manager instances: the main one, then one per shard. Each is a dict with
name (the Deployment's), shard ("main" or the shard's name), selector (its
--watch-label-selector), replicas, resources, leaseID and webhookHost.
Rendered as YAML, read back with fromYaml.
*/}}
{{- define "gjo.instances" -}}
{{- $full := include "gjo.fullname" . -}}
{{- $shardKey := "sharding.fluxcd.io/key" -}}
{{- $main := .Values.manager.watchLabelSelector -}}
{{- if and (not $main) .Values.shards -}}
{{- $main = printf "!%s" $shardKey -}}
{{- end -}}
instances:
- name: {{ $full }}
  shard: main
  selector: {{ $main | quote }}
  replicas: {{ .Values.replicas }}
  resources: {{ toJson .Values.resources }}
  leaseID: {{ .Values.leaderElection.id | quote }}
  webhookHost: {{ .Values.webhook.ingress.host | quote }}
{{- range .Values.shards }}
{{- if not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" .name) }}
{{- fail (printf "shards: %q is not a DNS label (lower-case letters, digits and '-')" .name) }}
{{- end }}
{{- if eq .name "main" }}
{{- fail "shards: \"main\" names the main manager; call the shard something else" }}
{{- end }}
- name: {{ printf "%s-%s" $full .name | trunc 63 | trimSuffix "-" }}
  shard: {{ .name }}
  selector: {{ printf "%s=%s" $shardKey .name | quote }}
  replicas: {{ default $.Values.replicas .replicas }}
  resources: {{ toJson (default $.Values.resources .resources) }}
  leaseID: {{ ternary (printf "%s-%s" $.Values.leaderElection.id .name) "" (ne $.Values.leaderElection.id "") | quote }}
  webhookHost: {{ default "" .webhookHost | quote }}
{{- end }}
{{- end -}}

{{/* The rules of one of the ClusterRoles or Roles in files/rbac (copies of config/rbac). */}}
{{- define "gjo.rulesFrom" -}}
{{- $doc := .root.Files.Get .file | fromYaml -}}
{{- if not $doc.rules -}}
{{- fail (printf "%s holds no rules" .file) -}}
{{- end -}}
{{- toYaml $doc.rules -}}
{{- end -}}
