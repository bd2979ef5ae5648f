{{/* Names ---------------------------------------------------------------- */}}

{{- define "crossgate.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "crossgate.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "crossgate.operator.fullname" -}}{{ include "crossgate.fullname" . }}-operator{{- end -}}
{{- define "crossgate.webhook.fullname" -}}{{ include "crossgate.fullname" . }}-webhook{{- end -}}
{{- define "crossgate.gateway.fullname" -}}{{ include "crossgate.fullname" . }}-gateway{{- end -}}
{{- define "crossgate.authz.fullname" -}}{{ include "crossgate.fullname" . }}-authz{{- end -}}
{{- define "crossgate.webhook.configurationName" -}}{{ include "crossgate.fullname" . }}-validating-webhook{{- end -}}
{{- define "crossgate.webhook.secretName" -}}{{ default (printf "%s-webhook-tls" (include "crossgate.fullname" .)) .Values.webhook.tls.secretName }}{{- end -}}
{{- define "crossgate.operator.leaseName" -}}{{ default (include "crossgate.operator.fullname" .) .Values.operator.leaderElection.leaseName }}{{- end -}}

{{- define "crossgate.serviceAccountName" -}}
{{- $ctx := index . 0 -}}{{- $component := index . 1 -}}
{{- default (printf "%s-%s" (include "crossgate.fullname" $ctx) $component) (index $ctx.Values.serviceAccount.names $component) -}}
{{- end -}}

{{/* Labels --------------------------------------------------------------- */}}

{{- define "crossgate.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
app.kubernetes.io/name: {{ include "crossgate.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: crossgate
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* (list . "operator") */}}
{{- define "crossgate.selectorLabels" -}}
{{- $ctx := index . 0 -}}{{- $component := index . 1 -}}
app.kubernetes.io/name: {{ include "crossgate.name" $ctx }}
app.kubernetes.io/instance: {{ $ctx.Release.Name }}
app.kubernetes.io/component: {{ $component }}
{{- end -}}

{{- define "crossgate.componentLabels" -}}
{{- $ctx := index . 0 -}}
{{ include "crossgate.labels" $ctx }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{/* Image and pod pieces shared by the three Deployments ----------------- */}}

{{- define "crossgate.image" -}}
{{- if .Values.image.digest -}}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest -}}
{{- else -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}
{{- end -}}

{{/* (list . $componentValues) : Node's memory settings. V8 otherwise takes
the whole memory limit as heap and, allowed that much, collects lazily: the
heap cap, a share of the limit, is what bounds the RSS (docs/performance.md). */}}
{{- define "crossgate.nodeMemoryEnv" -}}
{{- $ctx := index . 0 -}}{{- $c := index . 1 -}}
{{- if $c.heapPercent }}
- name: NODE_OPTIONS
  value: {{ printf "--max-old-space-size-percentage=%d" ($c.heapPercent | int) | quote }}
{{- end }}
{{- if $ctx.Values.mallocArenaMax }}
- name: MALLOC_ARENA_MAX
  value: {{ $ctx.Values.mallocArenaMax | int | quote }}
{{- end }}
{{- end -}}

{{/* (list . $withTrustedProxies) : the platform settings (api/platform.ts) the operator, webhook
and gateway share; trustedProxies only matters to the gateway. Empty lists set nothing. */}}
{{- define "crossgate.platformEnv" -}}
{{- $p := (index . 0).Values.platform -}}
{{- with $p.loopbackUpstreams }}
- name: CROSSGATE_LOOPBACK_UPSTREAMS
  value: {{ join "," . | quote }}
{{- end }}
{{- with $p.gatewayHostnames }}
- name: CROSSGATE_GATEWAY_HOSTNAMES
  value: {{ join "," . | quote }}
{{- end }}
{{- with $p.clusterCidrs }}
- name: CROSSGATE_CLUSTER_CIDRS
  value: {{ join "," . | quote }}
{{- end }}
{{- with $p.gatewayParents }}
- name: CROSSGATE_GATEWAY_PARENTS
  value: {{ join "," . | quote }}
{{- end }}
{{- if index . 1 }}
{{- with $p.trustedProxies }}
- name: CROSSGATE_TRUSTED_PROXIES
  value: {{ join "," . | quote }}
{{- end }}
{{- end }}
{{- end -}}

{{/* (list . $componentValues) : scheduling and pull secrets */}}
{{- define "crossgate.podScheduling" -}}
{{- $ctx := index . 0 -}}{{- $c := index . 1 -}}
{{- with $ctx.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- with $c.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $c.topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* Generated files: rules of a ClusterRole in files/rbac, by name ------- */}}

{{/* (list . "crossgate-operator") → the rules list of that ClusterRole, as YAML */}}
{{- define "crossgate.generatedRules" -}}
{{- $ctx := index . 0 -}}{{- $name := index . 1 -}}
{{- $found := dict -}}
{{- range $path, $_ := $ctx.Files.Glob "files/rbac/*.yaml" -}}
{{- range $doc := splitList "\n---\n" ($ctx.Files.Get $path) -}}
{{- $obj := fromYaml $doc -}}
{{- if and $obj.metadata (eq $obj.metadata.name $name) -}}
{{- $_ := set $found "rules" $obj.rules -}}
{{- end -}}
{{- end -}}
{{- end -}}
{{- if not $found.rules -}}
{{- fail (printf "files/rbac has no ClusterRole %s: run node hack/sync-chart.ts" $name) -}}
{{- end -}}
{{- toYaml $found.rules -}}
{{- end -}}
