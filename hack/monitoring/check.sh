#!/usr/bin/env bash
# promtool check rules and promtool test rules on deploy/monitoring/prometheusrule.yaml (its spec
# is the rule file), plus a parse of the Grafana dashboard. promtool is built from its Go module
# and cached (hack/monitoring/promtool.sh).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
promtool="$("$root/hack/monitoring/promtool.sh")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The PrometheusRule's spec, dedented: everything after "spec:" (a top-level key, last in the file).
awk 'f { sub(/^  /, ""); print } /^spec:/ { f = 1 }' "$root/deploy/monitoring/prometheusrule.yaml" \
  >"$work/rules.yaml"
cp "$root/deploy/monitoring/tests/alerts.test.yaml" "$work/"
"$promtool" check rules "$work/rules.yaml"
(cd "$work" && "$promtool" test rules alerts.test.yaml)
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["panels"], "no panels"' \
  "$root/deploy/monitoring/grafana-dashboard.json"
