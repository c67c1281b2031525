{{/* Names and labels. */}}
{{- define "sessionbot.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "sessionbot.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "sessionbot.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sessionbot.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "sessionbot.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "sessionbot.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "sessionbot.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "sessionbot.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "sessionbot.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* Where existingSecret's keys are mounted. */}}
{{- define "sessionbot.secretDir" -}}/run/secrets/sessionbot{{- end }}

{{/* Where SQLite keeps its file. */}}
{{- define "sessionbot.dataDir" -}}/var/lib/sessionbot{{- end }}

{{/* The store driver, defaulting as the bot does. */}}
{{- define "sessionbot.driver" -}}
{{- $store := .Values.config.store | default dict }}
{{- default "sqlite" $store.driver }}
{{- end }}

{{/* The metrics port, from config.metrics.listen (":9090", "0.0.0.0:9090"). */}}
{{- define "sessionbot.metricsPort" -}}
{{- $listen := "" }}
{{- with .Values.config.metrics }}{{ $listen = .listen | default "" }}{{ end }}
{{- if not $listen }}
{{- fail "config.metrics.listen is empty: the probes need /healthz and /readyz, set it to \":9090\"" }}
{{- end }}
{{- $host := regexReplaceAll ":[0-9]+$" $listen "" | trimAll "[]" }}
{{- if has $host (list "127.0.0.1" "localhost" "::1") }}
{{- fail (printf "config.metrics.listen is %q: the kubelet cannot reach loopback; use \":%s\"" $listen (regexFind "[0-9]+$" $listen)) }}
{{- end }}
{{- $port := regexFind ":[0-9]+$" $listen | trimPrefix ":" }}
{{- if not $port }}
{{- fail (printf "config.metrics.listen is %q: it needs a port, e.g. \":9090\"" $listen) }}
{{- end }}
{{- $port }}
{{- end }}

{{/*
Fails the render when a secret is written into config: secrets go in
existingSecret and are read through _file keys.
*/}}
{{- define "sessionbot.noSecretsInConfig" -}}
{{- $secretKeys := list "bot_token" "app_token" "dsn" "password" "client_secret" "api_key" }}
{{- range $section, $value := .Values.config }}
{{- if kindIs "map" $value }}
{{- range $key, $v := $value }}
{{- if and (has $key $secretKeys) $v }}
{{- fail (printf "config.%s.%s holds a secret: put it in the Secret %q and list it in secretFiles (%s.%s: <key>)" $section $key $.Values.existingSecret $section $key) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- range $name, $instance := (.Values.config.instances | default dict) }}
{{- range $key, $v := $instance }}
{{- if and (has $key $secretKeys) $v }}
{{- fail (printf "config.instances.%s.%s holds a secret: put it in the Secret %q and list it in secretFiles (instances.%s.%s: <key>)" $name $key $.Values.existingSecret $name $key) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* The refusals that no values schema can express. */}}
{{- define "sessionbot.validate" -}}
{{- include "sessionbot.noSecretsInConfig" . }}
{{- $driver := include "sessionbot.driver" . }}
{{- if and (gt (int .Values.replicaCount) 1) (ne $driver "postgres") }}
{{- fail (printf "replicaCount is %d with store.driver %s: replicas share approvals through the store, and only PostgreSQL can be shared; set config.store.driver: postgres or replicaCount: 1" (int .Values.replicaCount) $driver) }}
{{- end }}
{{- if and (eq $driver "postgres") (not .Values.storeDSNKey) (not (hasKey .Values.secretFiles "store.dsn")) }}
{{- fail "config.store.driver is postgres but storeDSNKey is empty: the DSN (with its password) comes from existingSecret" }}
{{- end }}
{{- if not .Values.existingSecret }}
{{- fail "existingSecret is empty: create a Secret with the Slack tokens (see the chart's README section in the project README) and name it here" }}
{{- end }}
{{- end }}

{{/*
secretFiles as the pods get them: with PostgreSQL, store.dsn from
storeDSNKey unless secretFiles names it itself.
*/}}
{{- define "sessionbot.secretFiles" -}}
{{- $files := deepCopy (.Values.secretFiles | default dict) }}
{{- if and (eq (include "sessionbot.driver" .) "postgres") .Values.storeDSNKey (not (hasKey $files "store.dsn")) }}
{{- $_ := set $files "store.dsn" .Values.storeDSNKey }}
{{- end }}
{{- toYaml $files }}
{{- end }}

{{/*
The config the pods read: .Values.config, plus a _file key for each secret,
plus the SQLite path on the volume.
*/}}
{{- define "sessionbot.config" -}}
{{- $cfg := deepCopy (.Values.config | default dict) }}
{{- $dir := include "sessionbot.secretDir" . }}
{{- range $path, $key := include "sessionbot.secretFiles" . | fromYaml }}
{{- $parts := splitList "." $path }}
{{- $node := $cfg }}
{{- range $part := initial $parts }}
{{- if not (kindIs "map" (get $node $part)) }}
{{- $_ := set $node $part dict }}
{{- end }}
{{- $node = get $node $part }}
{{- end }}
{{- $_ := set $node (printf "%s_file" (last $parts)) (printf "%s/%s" $dir $key) }}
{{- end }}
{{- if eq (include "sessionbot.driver" .) "sqlite" }}
{{- $store := get $cfg "store" }}
{{- if not (kindIs "map" $store) }}{{ $store = dict }}{{ $_ := set $cfg "store" $store }}{{ end }}
{{- $path := get $store "path" | default "sessionbot.db" }}
{{- if not (hasPrefix "/" $path) }}
{{- $_ := set $store "path" (printf "%s/%s" (include "sessionbot.dataDir" .) $path) }}
{{- end }}
{{- end }}
{{- toYaml $cfg }}
{{- end }}

{{/* Volumes shared by the Deployment and the test pod. */}}
{{- define "sessionbot.configVolumes" -}}
- name: config
  configMap:
    name: {{ include "sessionbot.fullname" . }}
- name: secrets
  secret:
    secretName: {{ .Values.existingSecret }}
    defaultMode: 0440
    items:
      {{- range $key := include "sessionbot.secretFiles" . | fromYaml | values | uniq | sortAlpha }}
      - key: {{ $key }}
        path: {{ $key }}
      {{- end }}
- name: tmp
  emptyDir:
    sizeLimit: 16Mi
{{- end }}

{{- define "sessionbot.configMounts" -}}
- name: config
  mountPath: /etc/sessionbot
  readOnly: true
- name: secrets
  mountPath: {{ include "sessionbot.secretDir" . }}
  readOnly: true
- name: tmp
  mountPath: /tmp
{{- end }}
