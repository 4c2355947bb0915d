{{/* The labels every object carries: the same as deploy/ (no Helm-only labels, so that the
chart and kustomize render the same objects). */}}
{{- define "finetune-operator.selectorLabels" -}}
app.kubernetes.io/name: finetune-operator
{{- end -}}

{{- define "finetune-operator.image" -}}
{{- if not .Values.image.repository -}}
{{- fail "image.repository must be set (the operator image, e.g. us-docker.pkg.dev/PROJECT/finetune/operator)" -}}
{{- end -}}
{{- if not .Values.image.tag -}}
{{- fail "image.tag must be set" -}}
{{- end -}}
{{ .Values.image.repository }}:{{ .Values.image.tag }}
{{- end -}}

{{/* ['a', 'b'] as a CEL list of string literals. */}}
{{- define "finetune-operator.quotedList" -}}
{{- $out := list -}}
{{- range . -}}
{{- if or (contains "'" .) (contains "\\" .) -}}
{{- fail (printf "tenancy.adminGroups: %q may not contain quotes or backslashes" .) -}}
{{- end -}}
{{- $out = append $out (printf "'%s'" .) -}}
{{- end -}}
{{- join ", " $out -}}
{{- end -}}
